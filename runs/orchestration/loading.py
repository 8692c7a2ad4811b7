"""Reading what memory needs from the database: on start, and lazily when a tick meets
something memory does not hold (a run not seen yet, the calls of an execution from before a
restart, earlier memoised steps)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Max

from projects.models import WorkerSession
from runs import keys
from runs.models import Dependency, Execution, Result, Run, Step
from runs.orchestration import inputs, outcomes, policies, records
from runs.orchestration.memory import (
    MAX_FORWARDS,
    RECENT,
    ExecutionSpec,
    Memory,
    RunInfo,
    SessionState,
    WorkspaceState,
    remember,
)
from runs.orchestration.tick import Tick
from runs.states import UNFINISHED, State
from workspaces.models import Workspace


def load(memory: Memory, tick: Tick, keep: dict[str, SessionState] | None = None) -> None:
    """Fill an empty memory from the database.

    Sessions in ``keep`` (the previous memory's, when the same process reloads after a failed
    tick) stay connected as they were. Any other live session is treated as disconnected from
    now, however long it has been away: the time no orchestrator ran does not count against
    it. It gets the grace period to reconnect, and its consumer, if it still lives, is asked
    to announce the worker again.
    """
    keep = keep or {}
    load_workspaces(memory)
    live = WorkerSession.objects.filter(project_id=memory.project_id, expired_at=None)
    reconnecting = []
    for row in live:
        kept = keep.get(row.id)
        session = SessionState(
            id=row.id,
            workspace_id=row.workspace_id,
            targets=records.declared_targets(row.targets) or set(),
            concurrency=row.concurrency,
            provides=row.provides,
            accepts=row.accepts,
            channel=None,
            secret_hash=row.secret_hash,
            draining=row.draining,
            disconnected_at=tick.now,
        )
        if kept is not None:
            session.channel, session.disconnected_at = kept.channel, kept.disconnected_at
            session.max_processes, session.blocked = kept.max_processes, set(kept.blocked)
            session.heartbeat_at = kept.heartbeat_at
        elif row.connected:
            reconnecting.append(row.id)
            tick.send(row.channel_name, {"type": "orchestrator.restarted"})
        memory.sessions[row.id] = session
    if reconnecting:
        live.filter(id__in=reconnecting).update(connected=False)
    live.exclude(id__in=keep).update(disconnected_at=tick.now)
    unfinished = list(
        Execution.objects.filter(
            workspace__project_id=memory.project_id, state__in=list(UNFINISHED)
        )
        .select_related("step")
        .order_by("created_at", "id")
    )
    memory.scanned_at = tick.now
    load_runs(memory, {execution.step.run_id for execution in unfinished})
    for execution in unfinished:
        spec = spec_from_row(memory, execution)
        if execution.state == State.QUEUED:
            memory.queue(spec)
        else:
            spec.session_id = execution.session_id or ""
            spec.assigned_at = execution.assigned_at
            memory.add_running(spec)
    for execution in unfinished:
        if execution.state == State.QUEUED:
            outcomes.block_pending(memory, memory.pending[execution.id], execution.wait_for)
    _load_waiters(memory)
    _expire_orphans(memory, tick)


def load_workspaces(memory: Memory) -> None:
    for ws in Workspace.objects.filter(project_id=memory.project_id).values(
        "id", "name", "state", "base_id"
    ):
        memory.workspaces[ws["id"]] = WorkspaceState(ws["name"], ws["state"], ws["base_id"])


def load_runs(memory: Memory, run_ids: Iterable[str]) -> None:
    """Learn the run-wide settings (requires, memo) of runs not yet known."""
    unknown = set(run_ids) - memory.runs.keys()
    if not unknown:
        return
    roots = dict(Step.objects.filter(run_id__in=unknown, number=1).values_list("run_id", "options"))
    rows = Run.objects.filter(id__in=unknown).values(
        "id", "workspace_id", "requires", "parent_id", "parent__step__parent_id"
    )
    for row in rows:
        options = roots.get(row["id"]) or {}
        if len(memory.runs) >= RECENT:
            memory.runs.pop(next(iter(memory.runs)))
        memory.runs[row["id"]] = RunInfo(
            workspace_id=row["workspace_id"],
            requires=policies.run_requires(row["requires"], options),
            memo=options.get("memo") is True,
            owner_id=row["parent__step__parent_id"] or row["parent_id"],
        )


def run_info(memory: Memory, run_id: str) -> RunInfo:
    if run_id not in memory.runs:
        load_runs(memory, {run_id})
    return memory.runs[run_id]


def spec_from_row(memory: Memory, execution: Execution) -> ExecutionSpec:
    """The in-memory form of an unfinished execution (its step fetched with it)."""
    step = execution.step
    run = run_info(memory, step.run_id)
    root = step.number == 1
    return ExecutionSpec(
        id=execution.id,
        step_id=step.id,
        run_id=step.run_id,
        attempt=execution.attempt,
        workspace_id=execution.workspace_id,
        module=step.module,
        target=step.target,
        target_type=step.target_type,
        arguments=step.arguments,
        options=step.options,
        created_at=execution.created_at,
        execute_after=execution.execute_after,
        parent_id=step.parent_id,
        owner_id=run.owner_id if root else step.parent_id,
        requires=policies.step_requires(run.requires, step.options, root),
        defer_key=step.defer_key,
        cache_key=step.cache_key,
        failures_before=execution.failures_before,
    )


def load_step_counts(memory: Memory, run_ids: set[str]) -> None:
    unknown = run_ids - memory.step_counts.keys()
    if not unknown:
        return
    counts = dict(
        Step.objects.filter(run_id__in=unknown)
        .values_list("run_id")
        .annotate(Max("number"))
        .values_list("run_id", "number__max")
    )
    for run_id in unknown:
        memory.step_counts[run_id] = counts.get(run_id) or 0


def load_submitted_refs(memory: Memory, parents: set[str]) -> None:
    """After a restart, learn which calls of running executions already became steps."""
    unknown = parents - memory.known_parents
    if not unknown:
        return
    for step_id, parent_id, ref in Step.objects.filter(parent_id__in=unknown).values_list(
        "id", "parent_id", "parent_ref"
    ):
        memory.submitted[(parent_id, ref)] = (step_id, f"{step_id}:1")
    memory.known_parents |= unknown


def load_memos(memory: Memory, wanted: set[tuple[str, str]]) -> None:
    """Find earlier steps of these runs with these memo keys: (run, key) pairs."""
    wanted = {pair for pair in wanted if pair not in memory.memos}
    if not wanted:
        return
    rows = (
        Execution.objects.filter(
            step__run_id__in={r for r, _ in wanted}, step__memo_key__in={k for _, k in wanted}
        )
        .exclude(state__in=[State.FAILED, State.TIMED_OUT, State.ABANDONED, State.CANCELLED])
        .order_by("created_at")
        .values_list("id", "step__run_id", "step__memo_key")
    )
    for execution_id, run_id, memo in rows:
        if (run_id, memo) in wanted:
            remember(memory.memos, (run_id, memo), execution_id)


def workspace_of(memory: Memory, tick: Tick, execution_id: str) -> int | None:
    spec = memory.unfinished(execution_id)
    if spec is not None:
        return spec.workspace_id
    new = tick.new_executions.get(execution_id)
    if new is not None:
        return new.workspace_id
    stored = Execution.objects.filter(id=execution_id).values_list("workspace_id", flat=True)
    return stored.first()


def queued_outside(memory: Memory, tick: Tick, named: list[str]) -> list[Execution]:
    """Executions queued outside the orchestrator (by submissions) and not yet in memory: the
    ``named`` ones, or without names those queued lately (a wake may have gone missing)."""
    found = Execution.objects.filter(workspace__project_id=memory.project_id, state=State.QUEUED)
    if named:
        found = found.filter(id__in=named)
    else:
        found = found.filter(created_at__gte=memory.scanned_at - SCAN_MARGIN)
        memory.scanned_at = tick.now
    queued = [
        execution
        for execution in found.select_related("step").order_by("created_at", "id")
        if memory.unfinished(execution.id) is None
    ]
    load_runs(memory, {execution.step.run_id for execution in queued})
    for execution in queued:
        step = execution.step
        if step.number == 1 and step.options.get("cache") and not step.cache_key:
            step.cache_key = keys.cache_key(
                step.module, step.target, step.arguments, step.options["cache"]
            )
            Step.objects.filter(id=step.id).update(cache_key=step.cache_key)
    return queued


SCAN_MARGIN = timedelta(minutes=1)
"""How far back a look for queued executions reaches before the previous look: a submission's
transaction may commit a while after it stamped its execution."""


def _load_waiters(memory: Memory) -> None:
    """Re-file who waits on unfinished executions: callers along forward chains, and the
    dependencies running executions recorded."""
    frontier: set[str] = set(memory.pending) | set(memory.running)
    for _ in range(MAX_FORWARDS):
        rows = list(
            Result.objects.filter(successor_id__in=frontier).values_list(
                "execution_id", "successor_id", "execution__step__parent_id"
            )
        )
        if not rows:
            break
        for execution_id, successor, parent in rows:
            memory.forwards[execution_id] = successor
            end = memory.chain_end(successor)
            if parent and end is not None:
                memory.waiters[end].add((parent, execution_id))
        frontier = {row[0] for row in rows}
    if memory.running:
        pairs = list(
            Dependency.objects.filter(execution_id__in=list(memory.running)).values_list(
                "execution_id", "dependency_id"
            )
        )
        pairs += inputs.waited_by(list(memory.running))
        by_target: dict[str, list[str]] = defaultdict(list)
        for waiter, target in pairs:
            by_target[target].append(waiter)
        for target, (status, end) in outcomes.chains(memory, list(by_target)).items():
            if status == "pending":
                memory.waiters[end].update((waiter, target) for waiter in by_target[target])


def _expire_orphans(memory: Memory, tick: Tick) -> None:
    """Executions assigned to sessions that no longer exist can never report: abandon them."""
    orphans = [e.id for e in memory.running.values() if e.session_id not in memory.sessions]
    outcomes.finish(memory, tick, [(e, {"type": "abandoned"}) for e in orphans], ack=False)
