"""Dispatch: which queued executions start now, and where (SPEC §3.2).

Each tick, queued executions are considered oldest first. Deferred calls collapse into the
newest of their kind; an execution waits while it is not due, while what it waits for has no
result, or while its workspace is not active; a call of a workflow starts a spawned run; any
other goes to a random connected session of its workspace that hosts the target, has a free
slot and fits its requires.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from runs.creation import create_run
from runs.models import Execution
from runs.orchestration import loading, outcomes, policies, pools
from runs.orchestration.memory import ExecutionSpec, Memory, RunInfo, SessionState
from runs.orchestration.tick import Tick
from runs.states import State, sources


def dispatch(memory: Memory, tick: Tick) -> None:
    if not memory.pending:
        return
    if memory.defer_changed:
        _collapse_deferred(memory, tick)
    placing = _Placing(memory, tick)
    # ``pending`` holds executions in the order they were queued, oldest first. Once no
    # session can take more and no pool could launch one, only what needs no session is left
    # to do (cache lookups, spawned runs), found through ``memory.sessionless``: the rest of a
    # long queue is not walked.
    for spec in list(memory.pending.values()):
        if not placing.available and not memory.fleet.pools:
            for execution_id in list(memory.sessionless):
                later = memory.pending.get(execution_id)
                if later is None or not later.needs_no_session:
                    memory.sessionless.discard(execution_id)
                else:
                    placing.consider(later)
            break
        placing.consider(spec)
    _store_assignments(tick, placing.assigned)
    # What no session could take may have a worker launched for it.
    pools.launch_for(memory, tick, placing.unplaced)
    if placing.spawned:
        # The spawned runs' roots were queued meanwhile: they may start at once.
        dispatch(memory, tick)


class _Placing:
    """One pass of dispatch: the sessions that can still take work, and what it decided."""

    def __init__(self, memory: Memory, tick: Tick) -> None:
        self.memory, self.tick = memory, tick
        # A session that would not even take work an execution blocked on it waits for can
        # take nothing at all this pass.
        self.available = [s for s in memory.sessions.values() if s.admits(for_blocked=True)]
        self.blocked = set().union(*(s.blocked for s in memory.sessions.values()))
        self.assigned: dict[str, list[str]] = defaultdict(list)
        self.unplaced: list[ExecutionSpec] = []
        self.spawned = False

    def consider(self, spec: ExecutionSpec) -> None:
        """Start a queued execution if it may start now: resolve it from the cache, spawn its
        run, or assign it to a session."""
        memory, tick = self.memory, self.tick
        if spec.id not in memory.pending or not _due(memory, spec, tick.now):
            return
        if spec.cache_key and spec.attempt == 1 and not spec.cache_checked:
            spec.cache_checked = True
            hit = _cached(memory, tick, spec)
            if hit is not None:
                outcomes.finish(
                    memory, tick, [(spec.id, {"type": "cached", "successor": hit})], ack=False
                )
                return
        if spec.blocked_on:
            return
        if spec.target_type == "workflow" and not spec.is_root:
            _spawn(memory, tick, spec)
            self.spawned = True
            return
        for_blocked = spec.owner_id in self.blocked
        eligible = [s for s in self.available if s.admits(for_blocked) and _fits(s, spec)]
        if not eligible:
            self.unplaced.append(spec)
            return
        session = random.choice(eligible)
        del memory.pending[spec.id]
        spec.session_id, spec.assigned_at = session.id, tick.now
        memory.add_running(spec)
        # A fresh attempt has made no calls yet: no need to look its calls up later.
        memory.known_parents.add(spec.id)
        self.assigned[session.id].append(spec.id)
        tick.touch(spec.id, spec.workspace_id)
        tick.send(session.channel, _execute(memory, spec))
        if not session.admits(for_blocked=True):
            self.available.remove(session)


def _due(memory: Memory, spec: ExecutionSpec, now: datetime) -> bool:
    if spec.execute_after and spec.execute_after > now:
        return False
    workspace = memory.workspaces.get(spec.workspace_id)
    return workspace is None or workspace.state == "active"


def next_due(memory: Memory, now: datetime) -> list[datetime]:
    """When the next queued execution put off until later falls due (overdue ones that cannot
    start wait for something to change, not for a time)."""
    due = memory.next_due(now)
    return [due] if due is not None else []


def _cached(memory: Memory, tick: Tick, spec: ExecutionSpec) -> str | None:
    """The execution whose outcome a cached call reuses, if any: the newest with the same
    key in this workspace or an ancestor, either still unfinished (the call is linked to it)
    or succeeded within the call's max age. Failures are never reused."""
    # The lookup reads executions' states, which this tick may have changed.
    tick.flush()
    ancestry = memory.ancestry(spec.workspace_id)
    unfinished = [
        other
        for other in (*memory.running.values(), *memory.pending.values())
        if other.cache_key == spec.cache_key
        and other.step_id != spec.step_id
        and other.workspace_id in ancestry
    ]
    candidates = [(other.created_at, other.id) for other in unfinished]
    stored = Execution.objects.filter(
        step__cache_key=spec.cache_key, state=State.SUCCEEDED, workspace_id__in=ancestry
    ).exclude(step_id=spec.step_id)
    max_age_ms = (spec.options.get("cache") or {}).get("max_age_ms")
    if max_age_ms is not None:
        stored = stored.filter(
            result__created_at__gte=tick.now - timedelta(milliseconds=max_age_ms)
        )
    newest = stored.order_by("-created_at").values_list("created_at", "id").first()
    if newest is not None:
        candidates.append(newest)
    return max(candidates)[1] if candidates else None


def _store_assignments(tick: Tick, assigned: dict[str, list[str]]) -> None:
    for session_id, ids in assigned.items():
        stored = []
        for execution_id in ids:
            new = tick.new_executions.get(execution_id)
            if new is None:
                stored.append(execution_id)
            else:
                new.state, new.session_id, new.assigned_at = State.ASSIGNED, session_id, tick.now
        tick.writes.update(
            Execution,
            stored,
            {"state": State.ASSIGNED, "session": session_id, "assigned_at": tick.now},
            state=list(sources(State.ASSIGNED)),
        )


def _collapse_deferred(memory: Memory, tick: Tick) -> None:
    """Of queued calls with the same target and defer key in a workspace, only the newest
    runs; the others forward to it (SPEC §3.6)."""
    memory.defer_changed = False
    groups: dict[tuple[Any, ...], list[ExecutionSpec]] = defaultdict(list)
    for spec in memory.pending.values():
        if spec.defer_key:
            groups[(spec.workspace_id, spec.module, spec.target, spec.defer_key)].append(spec)
    deferred: list[outcomes.Outcome] = []
    for specs in groups.values():
        if len(specs) < 2:
            continue
        # Ties go to the later call: ``specs`` are in the order they were queued.
        _, survivor = max(
            enumerate(specs),
            key=lambda pair: (pair[1].execute_after or pair[1].created_at, pair[0]),
        )
        deferred.extend(
            (spec.id, {"type": "deferred", "successor": survivor.id})
            for spec in specs
            if spec is not survivor
        )
    outcomes.finish(memory, tick, deferred, ack=False)


def _spawn(memory: Memory, tick: Tick, spec: ExecutionSpec) -> None:
    """A call of a workflow starts a run of its own, whose root's outcome is the call's."""
    root = create_run(
        project_id=memory.project_id,
        workspace_id=spec.workspace_id,
        module=spec.module,
        target=spec.target,
        arguments=spec.arguments,
        options=spec.options,
        now=tick.now,
        due=None,
        parent_id=spec.id,
        requires=spec.requires,
    )
    run_id = root.step.run_id
    memory.runs[run_id] = RunInfo(
        workspace_id=spec.workspace_id,
        requires=spec.requires,
        memo=spec.options.get("memo") is True,
        owner_id=spec.owner_id,
    )
    memory.step_counts[run_id] = 1
    successor = loading.spec_from_row(memory, root)
    memory.queue(successor)
    outcomes.block_pending(memory, successor, [])
    tick.touch(successor.id, successor.workspace_id)
    outcomes.finish(memory, tick, [(spec.id, {"type": "spawned", "successor": root.id})], ack=False)


def _fits(session: SessionState, spec: ExecutionSpec) -> bool:
    return session.workspace_id == spec.workspace_id and policies.can_run(
        session.targets, session.provides, session.accepts, spec.target_key, spec.requires
    )


def _execute(memory: Memory, spec: ExecutionSpec) -> dict[str, Any]:
    workspace = memory.workspaces.get(spec.workspace_id)
    return {
        "type": "execute",
        "execution": spec.id,
        "run": spec.run_id,
        "workspace": workspace.name if workspace else "",
        "module": spec.module,
        "target": spec.target,
        "target_type": spec.target_type,
        "arguments": spec.arguments,
        "timeout_ms": spec.timeout_ms,
    }
