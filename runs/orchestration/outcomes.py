"""How executions end and who hears of it.

An execution ends with a final result (value, error, cancelled, abandoned, timeout) or forwards
to another execution whose outcome stands for its own: a retry, the next attempt after a
suspension or recurrence, the surviving call of deferred ones, a spawned run's root, a cached
execution. Whoever waits on an execution is filed under the end of its forward chain as
``(waiter, the ID it waits on)`` and told once that end has a final result. A parent is always
told of its children's outcomes, asked or not. Cancelling reaches every unfinished descendant.
Inputs (``inputs``) are waited for the same way, under their own IDs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from runs import keys
from runs.models import Execution, Result
from runs.orchestration import inputs, policies, records
from runs.orchestration.memory import MAX_FORWARDS, Chain, ExecutionSpec, Memory, Waiter, remember
from runs.orchestration.tick import Tick
from runs.states import FAILURES, RESULT_STATE, RUN_STATUS, State, check_transition, sources

Outcome = tuple[str, dict[str, Any]]
"""(execution ID, its result as the protocol carries it, plus ``successor`` if it forwards)."""


def finish(memory: Memory, tick: Tick, outcomes: list[Outcome], ack: bool) -> None:
    """Record how unfinished executions ended; follow up (retry, recur, resume) and tell
    whoever waits for them. With ``ack``, the worker that reported a result hears it is stored."""
    if not outcomes:
        return
    by_state: dict[tuple[State, bool], list[str]] = defaultdict(list)
    timed_out: list[ExecutionSpec] = []
    for execution_id, result in outcomes:
        spec = memory.running.pop(execution_id, None)
        current = State.ASSIGNED
        if spec is None:
            spec, current = memory.pending.pop(execution_id, None), State.QUEUED
        if spec is None:
            continue
        session = memory.sessions.get(spec.session_id or "")
        if session is not None:
            session.executions.discard(execution_id)
            session.blocked.discard(execution_id)
            if ack:
                tick.send(session.channel, {"type": "ack", "execution": execution_id})
        result, successor = _follow_up(memory, tick, spec, result)
        state = RESULT_STATE[result["type"]]
        check_transition(current, state)
        tick.new_results.append(records.result_row(execution_id, result, successor, tick.now))
        tick.touch(execution_id, spec.workspace_id)
        new = tick.new_executions.get(execution_id)
        if new is not None:
            new.state, new.completed_at = state, tick.now
        else:
            by_state[(state, execution_id in tick.starting)].append(execution_id)
        if successor is not None:
            _forward(memory, tick, spec, successor)
        else:
            _resolve(memory, tick, spec, result)
        if result["type"] == "timeout":
            timed_out.append(spec)
    for (state, starting), ids in by_state.items():
        started = {"started_at": tick.now} if starting else {}
        tick.writes.update(
            Execution,
            ids,
            {"state": state, "completed_at": tick.now, **started},
            state=list(sources(state)),
        )
    if timed_out:
        cancel_specs(memory, tick, descendants(memory, timed_out))


def _follow_up(
    memory: Memory, tick: Tick, spec: ExecutionSpec, result: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The result to record and the execution it forwards to, if the step goes on."""
    kind = result["type"]
    if "successor" in result:
        return {"type": kind}, result["successor"]
    if kind == "suspended":
        due = policies.due_at_epoch_ms(tick.now, result.get("after"))
        dependencies = [d for d in result.get("dependencies") or [] if isinstance(d, str)]
        successor = next_attempt(memory, tick, spec, due, wait_for=dependencies)
        return {"type": kind}, successor.id
    if kind in FAILURES and policies.is_retryable(result):
        delay = policies.retry_delay_ms(spec.options.get("retries"), spec.failures_before)
        if delay is not None:
            due = policies.due_at(tick.now, delay)
            successor = next_attempt(memory, tick, spec, due, spec.failures_before + 1)
            return result, successor.id
    if policies.recurs(spec.options, result):
        due = policies.due_at(tick.now, spec.options.get("delay_ms"))
        return {"type": "recurred"}, next_attempt(memory, tick, spec, due).id
    return result, None


def next_attempt(
    memory: Memory,
    tick: Tick,
    spec: ExecutionSpec,
    execute_after: datetime | None,
    failures_before: int = 0,
    wait_for: list[str] | None = None,
    attempt: int | None = None,
    workspace_id: int | None = None,
) -> ExecutionSpec:
    """Queue another attempt at the step of ``spec`` (``attempt`` 1 for a fresh step)."""
    attempt = attempt or spec.attempt + 1
    workspace_id = workspace_id or spec.workspace_id
    execution_id = f"{spec.step_id}:{attempt}"
    tick.new_executions[execution_id] = Execution(
        id=execution_id,
        step_id=spec.step_id,
        attempt=attempt,
        workspace_id=workspace_id,
        created_at=tick.now,
        execute_after=execute_after,
        failures_before=failures_before,
        wait_for=wait_for or [],
    )
    tick.touch(execution_id, workspace_id)
    if spec.is_root:
        remember(memory.root_attempts, spec.run_id, attempt)
    successor = replace(
        spec,
        id=execution_id,
        attempt=attempt,
        workspace_id=workspace_id,
        created_at=tick.now,
        execute_after=execute_after,
        failures_before=failures_before,
        blocked_on=set(),
        wait_any=False,
        cache_checked=False,
        session_id=None,
        assigned_at=None,
    )
    memory.queue(successor)
    block_pending(memory, successor, wait_for or [])
    return successor


def block_pending(memory: Memory, spec: ExecutionSpec, wait_for: list[str]) -> None:
    """Hold a queued execution until what it waits for has results: a resumed suspension
    waits for any of its dependencies, a call with ``wait=`` for the executions passed to it."""
    if wait_for:
        spec.wait_any = True
        _block(memory, spec, wait_for)
        return
    wait = keys.selected(spec.options.get("wait"), len(spec.arguments))
    if wait:
        values = [spec.arguments[i] for i in wait if i < len(spec.arguments)]
        _block(memory, spec, keys.execution_refs(values))


def _block(memory: Memory, spec: ExecutionSpec, dependencies: list[str]) -> None:
    if not dependencies:
        return
    found = chains(memory, dependencies)
    if spec.wait_any and any(status != "pending" for status, _ in found.values()):
        return
    for dependency, (status, end) in found.items():
        if status == "pending":
            spec.blocked_on.add(dependency)
            memory.waiters[end].add((spec.id, dependency))
        elif status == "done" and not spec.wait_any:
            # A value holding executions waits for those too (SPEC §3.13).
            _block(memory, spec, keys.execution_refs([end.get("value")]))


def _forward(memory: Memory, tick: Tick, spec: ExecutionSpec, successor: str) -> None:
    """Whoever waited on ``spec`` now waits on ``successor`` (the same ID to them)."""
    remember(memory.forwards, spec.id, successor)
    moved = memory.waiters.pop(spec.id, set()) | _caller(spec)
    if not moved:
        return
    status, end = chains(memory, [successor])[successor]
    if status == "pending":
        memory.waiters[end] |= moved
    elif status == "done":
        for waiter, target in sorted(moved):
            _deliver(memory, tick, waiter, target, end)


def _resolve(memory: Memory, tick: Tick, spec: ExecutionSpec, result: dict[str, Any]) -> None:
    """``spec`` has its final result: tell everyone waiting on it or forwarded to it."""
    announce(memory, tick, spec.id, result, _caller(spec))
    if spec.is_root:
        # The run's outcome is its root's latest attempt's: known here only if this is it.
        latest = memory.root_attempts.get(spec.run_id) == spec.attempt
        tick.finished_runs[spec.run_id] = _outcome(result) if latest else None


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    """A run's outcome as waiting clients get it: its status and its final result."""
    return {
        "status": RUN_STATUS[RESULT_STATE[result["type"]]],
        "result": {key: value for key, value in result.items() if key != "successor"},
    }


def announce(
    memory: Memory,
    tick: Tick,
    target: str,
    result: dict[str, Any],
    also: set[Waiter] | None = None,
) -> None:
    """``target`` (an execution or an input) has its final result: tell whoever waits on it,
    and ``also`` these."""
    remember(memory.results, target, result)
    for waiter, asked in sorted(memory.waiters.pop(target, set()) | (also or set())):
        _deliver(memory, tick, waiter, asked, result)


def _caller(spec: ExecutionSpec) -> set[Waiter]:
    """The parent waits on a call's first attempt unasked; later attempts (retries,
    resumptions, re-runs) are filed under it by the forwards that made them."""
    if spec.parent_id and spec.attempt == 1:
        return {(spec.parent_id, spec.id)}
    return set()


def _deliver(memory: Memory, tick: Tick, waiter: str, target: str, result: dict[str, Any]) -> None:
    queued = memory.pending.get(waiter)
    if queued is None:
        send_to_execution(memory, tick, waiter, records.resolved(waiter, target, result))
        return
    if target not in queued.blocked_on:
        return
    if queued.wait_any:
        queued.blocked_on.clear()
        return
    queued.blocked_on.discard(target)
    if result.get("type") == "value":
        _block(memory, queued, keys.execution_refs([result.get("value")]))


def send_to_execution(memory: Memory, tick: Tick, execution_id: str, message: dict) -> None:
    """Send to the worker running an execution, if it runs and is connected."""
    session = memory.session_of(execution_id)
    if session is not None:
        tick.send(session.channel, message)


def watch(memory: Memory, tick: Tick, waiter: str, target: str) -> None:
    """Tell ``waiter`` the outcome of ``target`` now if it has one, else when it has."""
    status, end = chains(memory, [target])[target]
    if status == "done":
        send_to_execution(memory, tick, waiter, records.resolved(waiter, target, end))
    elif status == "pending":
        memory.waiters[end].add((waiter, target))


def chains(memory: Memory, ids: Iterable[str]) -> dict[str, Chain]:
    """Follow each ID's forwards to where its outcome is decided, from memory or the
    database; inputs' IDs are looked up by ``inputs``."""
    ids = list(ids)
    found = inputs.chains(memory, [ident for ident in ids if inputs.is_input_id(ident)])
    todo = {ident: ident for ident in ids if ident not in found}
    for _ in range(MAX_FORWARDS):
        if not todo:
            break
        following: dict[str, str] = {}
        missing: dict[str, list[str]] = defaultdict(list)
        for origin, current in todo.items():
            if current in memory.pending or current in memory.running:
                found[origin] = ("pending", current)
            elif current in memory.forwards:
                following[origin] = memory.forwards[current]
            elif current in memory.results:
                found[origin] = ("done", memory.results[current])
            else:
                missing[current].append(origin)
        if missing:
            stored = Result.objects.filter(
                execution_id__in=list(missing),
                execution__workspace__project_id=memory.project_id,
            )
            for row in stored:
                origins = missing.pop(row.execution_id)
                if row.successor_id is not None:
                    remember(memory.forwards, row.execution_id, row.successor_id)
                    following.update((origin, row.successor_id) for origin in origins)
                else:
                    result = row.as_message()
                    remember(memory.results, row.execution_id, result)
                    found.update((origin, ("done", result)) for origin in origins)
            for origins in missing.values():
                found.update((origin, ("unknown", None)) for origin in origins)
        todo = following
    for origin in todo:
        found[origin] = ("unknown", None)
    return found


def cancel(memory: Memory, tick: Tick, targets: list[str]) -> list[str]:
    """Cancel executions (following forwards) and their unfinished descendants; returns the
    IDs of what was cancelled."""
    roots: list[str] = []
    for status, end in chains(memory, targets).values():
        if status == "pending" and end not in roots:
            roots.append(end)
    specs = [spec for spec in map(memory.unfinished, roots) if spec is not None]
    return cancel_specs(memory, tick, specs + descendants(memory, specs))


def descendants(memory: Memory, specs: list[ExecutionSpec]) -> list[ExecutionSpec]:
    """Unfinished executions below these, in the same workspace as the one they descend
    from: their calls, the calls of those, spawned runs, at any depth."""
    workspace = {spec.id: spec.workspace_id for spec in specs}
    found: list[ExecutionSpec] = []
    unfinished = [*memory.pending.values(), *memory.running.values()]
    frontier = set(workspace)
    while frontier:
        layer = [
            spec
            for spec in unfinished
            if spec.owner_id in frontier
            and spec.id not in workspace
            and spec.workspace_id == workspace[spec.owner_id]
        ]
        for spec in layer:
            workspace[spec.id] = spec.workspace_id
        found.extend(layer)
        frontier = {spec.id for spec in layer}
    return found


def cancel_specs(memory: Memory, tick: Tick, specs: list[ExecutionSpec]) -> list[str]:
    """Cancel these unfinished executions, aborting those that run."""
    for spec in specs:
        if spec.id in memory.running:
            send_to_execution(memory, tick, spec.id, {"type": "abort", "execution": spec.id})
    ids = [spec.id for spec in specs]
    finish(memory, tick, [(i, {"type": "cancelled"}) for i in ids], ack=False)
    return ids
