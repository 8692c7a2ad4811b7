"""How executions end and who hears of it.

An execution ends with a final result (value, error, cancelled, abandoned, timeout) or forwards
to another execution whose outcome stands for its own: a retry, the next attempt after a
suspension or recurrence, the surviving call of deferred ones, a spawned run's root, a cached
execution. Whoever waits on an execution is filed under the end of its forward chain as
``(waiter, the ID it waits on)`` and told once that end has a final result. A parent is always
told of its children's outcomes, asked or not. Cancelling reaches every unfinished descendant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from runs import keys
from runs.models import Execution, Result
from runs.orchestration import bus, policies, records
from runs.orchestration.records import result_row
from runs.orchestration.state import (
    MAX_FORWARDS,
    RECENT,
    Chain,
    ExecutionSpec,
    Outbox,
    Waiter,
)
from runs.states import FAILURES, RESULT_STATE, UNFINISHED, State


class Outcomes:
    """The part of ``Orchestrator`` that records outcomes, follows forwards and cancels."""

    def _finish(
        self,
        outcomes: list[tuple[str, dict[str, Any]]],
        now: datetime,
        outbox: Outbox,
        ack: bool,
    ) -> None:
        """Record how unfinished executions ended; follow up (retry, recur, resume) and tell
        whoever waits for them."""
        if not outcomes:
            return
        by_state: dict[tuple[State, bool], list[str]] = defaultdict(list)
        timed_out: list[ExecutionSpec] = []
        for execution_id, result in outcomes:
            spec = self.running.pop(execution_id, None) or self.pending.pop(execution_id, None)
            if spec is None:
                continue
            session = self.sessions.get(spec.session_id or "")
            if session is not None:
                session.executions.discard(execution_id)
                if ack and session.channel:
                    outbox.append((session.channel, {"type": "ack", "execution": execution_id}))
            result, successor = self._follow_up(spec, result, now)
            self.new_results.append(result_row(execution_id, result, successor, now))
            state = RESULT_STATE[result["type"]]
            new = self.new_executions.get(execution_id)
            if new is not None:
                new.state, new.completed_at = state, now
            else:
                by_state[(state, execution_id in self.starting)].append(execution_id)
            if successor is not None:
                self._forward(spec, successor, outbox)
            else:
                self._resolve(spec, result, outbox)
            if result["type"] == "timeout":
                timed_out.append(spec)
        for (state, starting), ids in by_state.items():
            started = {"started_at": now} if starting else {}
            self.batch.update(
                Execution,
                ids,
                {"state": state, "completed_at": now, **started},
                state=list(UNFINISHED),
            )
        if timed_out:
            self._cancel_descendants(timed_out, now, outbox)

    def _follow_up(
        self, spec: ExecutionSpec, result: dict[str, Any], now: datetime
    ) -> tuple[dict[str, Any], str | None]:
        """The result to record and the execution it forwards to, if the step goes on."""
        kind = result["type"]
        if "successor" in result:
            return {"type": kind}, result["successor"]
        if kind == "suspended":
            after = result.get("after")
            due = datetime.fromtimestamp(after / 1000, tz=UTC) if after else None
            dependencies = [d for d in result.get("dependencies") or [] if isinstance(d, str)]
            successor = self._next_attempt(spec, now, due, wait_for=dependencies)
            return {"type": kind}, successor.id
        if kind in FAILURES and policies.is_retryable(result):
            delay = policies.retry_delay_ms(spec.options.get("retries"), spec.failures_before)
            if delay is not None:
                due = now + timedelta(milliseconds=delay) if delay else None
                successor = self._next_attempt(spec, now, due, spec.failures_before + 1)
                return result, successor.id
        if policies.recurs(spec.options, result):
            delay = spec.options.get("delay_ms") or 0
            due = now + timedelta(milliseconds=delay) if delay else None
            return {"type": "recurred"}, self._next_attempt(spec, now, due).id
        return result, None

    def _next_attempt(
        self,
        spec: ExecutionSpec,
        now: datetime,
        execute_after: datetime | None,
        failures_before: int = 0,
        wait_for: list[str] | None = None,
        attempt: int | None = None,
        workspace_id: int | None = None,
    ) -> ExecutionSpec:
        """Queue another attempt at the step of ``spec``."""
        attempt = attempt or spec.attempt + 1
        workspace_id = workspace_id or spec.workspace_id
        execution_id = f"{spec.step_id}:{attempt}"
        self.new_executions[execution_id] = Execution(
            id=execution_id,
            step_id=spec.step_id,
            attempt=attempt,
            workspace_id=workspace_id,
            created_at=now,
            execute_after=execute_after,
            failures_before=failures_before,
            wait_for=wait_for or [],
        )
        successor = replace(
            spec,
            id=execution_id,
            attempt=attempt,
            workspace_id=workspace_id,
            created_at=now,
            execute_after=execute_after,
            failures_before=failures_before,
            blocked_on=set(),
            wait_any=False,
            session_id=None,
            assigned_at=None,
        )
        self._queue(successor)
        self._block_pending(successor, wait_for or [])
        return successor

    def _block_pending(self, spec: ExecutionSpec, wait_for: list[str]) -> None:
        """Hold a queued execution until what it waits for has results: a resumed suspension
        waits for any of its dependencies, a call with ``wait=`` for the executions passed to
        it."""
        if wait_for:
            spec.wait_any = True
            self._block(spec, wait_for)
            return
        wait = keys.selected(spec.options.get("wait"), len(spec.arguments))
        if wait:
            values = [spec.arguments[i] for i in wait if i < len(spec.arguments)]
            self._block(spec, keys.execution_refs(values))

    def _block(self, spec: ExecutionSpec, dependencies: list[str]) -> None:
        if not dependencies:
            return
        chains = self._chains(dependencies)
        if spec.wait_any and any(status != "pending" for status, _ in chains.values()):
            return
        for dependency, (status, end) in chains.items():
            if status == "pending":
                spec.blocked_on.add(dependency)
                self.waiters[end].add((spec.id, dependency))
            elif status == "done" and not spec.wait_any:
                # A value holding executions waits for those too (SPEC §3.13).
                self._block(spec, keys.execution_refs([end.get("value")]))

    def _forward(self, spec: ExecutionSpec, successor: str, outbox: Outbox) -> None:
        """Whoever waited on ``spec`` now waits on ``successor`` (the same ID to them)."""
        self._remember(self.forwards, spec.id, successor)
        moved = self.waiters.pop(spec.id, set()) | self._caller(spec)
        if not moved:
            return
        status, end = self._chains([successor])[successor]
        if status == "pending":
            self.waiters[end] |= moved
        elif status == "done":
            for waiter, target in sorted(moved):
                self._deliver(waiter, target, end, outbox)

    def _resolve(self, spec: ExecutionSpec, result: dict[str, Any], outbox: Outbox) -> None:
        """``spec`` has its final result: tell everyone waiting on it or forwarded to it."""
        self._remember(self.results, spec.id, result)
        notify = self.waiters.pop(spec.id, set()) | self._caller(spec)
        for waiter, target in sorted(notify):
            self._deliver(waiter, target, result, outbox)
        if spec.is_root:
            group = bus.GROUP_PREFIX + bus.run_group(spec.run_id)
            outbox.append((group, {"type": "run.finished", "run": spec.run_id}))

    @staticmethod
    def _caller(spec: ExecutionSpec) -> set[Waiter]:
        """The parent waits on a call's first attempt unasked; later attempts (retries,
        resumptions, re-runs) are filed under it by the forwards that made them."""
        if spec.parent_id and spec.attempt == 1:
            return {(spec.parent_id, spec.id)}
        return set()

    def _deliver(self, waiter: str, target: str, result: dict[str, Any], outbox: Outbox) -> None:
        queued = self.pending.get(waiter)
        if queued is None:
            self._send_to_execution(waiter, records.resolved(waiter, target, result), outbox)
            return
        if target not in queued.blocked_on:
            return
        if queued.wait_any:
            queued.blocked_on.clear()
            return
        queued.blocked_on.discard(target)
        if result.get("type") == "value":
            self._block(queued, keys.execution_refs([result.get("value")]))

    def _send_to_execution(self, execution_id: str, message: dict, outbox: Outbox) -> None:
        running = self.running.get(execution_id)
        session = self.sessions.get(running.session_id or "") if running else None
        if session is not None and session.channel is not None:
            outbox.append((session.channel, message))

    def _chains(self, ids) -> dict[str, Chain]:
        """Follow each ID's forwards to where its outcome is decided, from memory or the
        database."""
        found: dict[str, Chain] = {}
        todo = {ident: ident for ident in ids}
        for _ in range(MAX_FORWARDS):
            if not todo:
                break
            following: dict[str, str] = {}
            missing: dict[str, list[str]] = defaultdict(list)
            for origin, current in todo.items():
                if current in self.pending or current in self.running:
                    found[origin] = ("pending", current)
                elif current in self.forwards:
                    following[origin] = self.forwards[current]
                elif current in self.results:
                    found[origin] = ("done", self.results[current])
                else:
                    missing[current].append(origin)
            if missing:
                rows = Result.objects.filter(execution_id__in=list(missing))
                for row in rows:
                    origins = missing.pop(row.execution_id)
                    if row.successor_id is not None:
                        self._remember(self.forwards, row.execution_id, row.successor_id)
                        following.update((origin, row.successor_id) for origin in origins)
                    else:
                        result = row.as_message()
                        self._remember(self.results, row.execution_id, result)
                        found.update((origin, ("done", result)) for origin in origins)
                for origins in missing.values():
                    found.update((origin, ("unknown", None)) for origin in origins)
            todo = following
        for origin in todo:
            found[origin] = ("unknown", None)
        return found

    @staticmethod
    def _remember(store: dict[Any, Any], key: Any, value: Any) -> None:
        if len(store) >= RECENT:
            store.pop(next(iter(store)))
        store[key] = value

    def _cancel(self, targets: list[str], now: datetime, outbox: Outbox) -> list[str]:
        """Cancel executions (following forwards) and their unfinished descendants."""
        roots = []
        for status, end in self._chains(targets).values():
            if status == "pending" and end not in roots:
                roots.append(end)
        specs = [self.pending.get(e) or self.running[e] for e in roots]
        doomed = specs + self._descendants(specs)
        return self._cancel_specs(doomed, now, outbox)

    def _cancel_descendants(
        self, specs: list[ExecutionSpec], now: datetime, outbox: Outbox
    ) -> list[str]:
        return self._cancel_specs(self._descendants(specs), now, outbox)

    def _descendants(self, specs: list[ExecutionSpec]) -> list[ExecutionSpec]:
        """Unfinished executions below these, in the same workspace as the one they descend
        from: their calls, the calls of those, spawned runs, at any depth."""
        workspace = {spec.id: spec.workspace_id for spec in specs}
        found: list[ExecutionSpec] = []
        unfinished = [*self.pending.values(), *self.running.values()]
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

    def _cancel_specs(self, specs: list[ExecutionSpec], now: datetime, outbox: Outbox) -> list[str]:
        for spec in specs:
            session = self.sessions.get(spec.session_id or "")
            if spec.id in self.running and session is not None and session.channel:
                outbox.append((session.channel, {"type": "abort", "execution": spec.id}))
        ids = [spec.id for spec in specs]
        self._finish([(i, {"type": "cancelled"}) for i in ids], now, outbox, ack=False)
        return ids
