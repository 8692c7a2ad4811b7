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
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from runs.identifiers import new_run_id
from runs.models import Execution, Run, Step
from runs.orchestration import policies, writes
from runs.orchestration.state import ExecutionSpec, Outbox, RunInfo, SessionState, WorkspaceState
from runs.states import State

if TYPE_CHECKING:
    from runs.orchestration.orchestrator import Orchestrator


class Dispatcher:
    """The dispatching half of ``Orchestrator``, over the same state."""

    sessions: dict[str, SessionState]
    pending: dict[str, ExecutionSpec]
    running: dict[str, ExecutionSpec]
    workspaces: dict[int, WorkspaceState]
    new_executions: dict[str, Execution]
    known_parents: set[str]
    defer_changed: bool
    batch: writes.Batch

    def _queue(self, spec: ExecutionSpec) -> None:
        self.pending[spec.id] = spec
        if spec.defer_key:
            self.defer_changed = True

    def _add_running(self, spec: ExecutionSpec) -> None:
        self.running[spec.id] = spec
        session = self.sessions.get(spec.session_id or "")
        if session is not None:
            session.executions.add(spec.id)

    def _dispatch(self: Orchestrator, now: datetime, outbox: Outbox) -> None:
        if not self.pending:
            return
        if self.defer_changed:
            self._collapse_deferred(now, outbox)
        available = [s for s in self.sessions.values() if s.has_capacity()]
        assigned: dict[str, list[str]] = defaultdict(list)
        spawned = False
        # ``pending`` holds executions in the order they were queued, oldest first.
        for spec in list(self.pending.values()):
            if spec.id not in self.pending or not self._due(spec, now):
                continue
            if spec.cache_key and spec.attempt == 1 and not spec.cache_checked:
                spec.cache_checked = True
                hit = self._cached(spec, now)
                if hit is not None:
                    self._finish(
                        [(spec.id, {"type": "cached", "successor": hit})], now, outbox, False
                    )
                    continue
            if spec.blocked_on:
                continue
            if spec.target_type == "workflow" and not spec.is_root:
                self._spawn(spec, now, outbox)
                spawned = True
                continue
            if not available:
                continue
            eligible = [s for s in available if _fits(s, spec)]
            if not eligible:
                continue
            session = random.choice(eligible)
            del self.pending[spec.id]
            spec.session_id, spec.assigned_at = session.id, now
            self._add_running(spec)
            # A fresh attempt has made no calls yet: no need to look its calls up later.
            self.known_parents.add(spec.id)
            assigned[session.id].append(spec.id)
            outbox.append((session.channel, _execute(spec, self.workspaces)))
            if not session.has_capacity():
                available.remove(session)
        self._store_assignments(assigned, now)
        if spawned:
            # The spawned runs' roots were queued meanwhile: they may start at once.
            self._dispatch(now, outbox)

    def _due(self, spec: ExecutionSpec, now: datetime) -> bool:
        if spec.execute_after and spec.execute_after > now:
            return False
        workspace = self.workspaces.get(spec.workspace_id)
        return workspace is None or workspace.state == "active"

    def _cached(self: Orchestrator, spec: ExecutionSpec, now: datetime) -> str | None:
        """The execution whose outcome a cached call reuses, if any: the newest with the same
        key in this workspace or an ancestor, either still unfinished (the call is linked to it)
        or succeeded within the call's max age. Failures are never reused."""
        # The lookup reads executions' states, which this tick may have changed.
        self.batch.flush()
        ancestry = self._ancestry(spec.workspace_id)
        unfinished = [
            other
            for other in (*self.running.values(), *self.pending.values())
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
            stored = stored.filter(result__created_at__gte=now - timedelta(milliseconds=max_age_ms))
        newest = stored.order_by("-created_at").values_list("created_at", "id").first()
        if newest is not None:
            candidates.append(newest)
        return max(candidates)[1] if candidates else None

    def _store_assignments(self, assigned: dict[str, list[str]], now: datetime) -> None:
        for session_id, ids in assigned.items():
            stored = []
            for execution_id in ids:
                new = self.new_executions.get(execution_id)
                if new is None:
                    stored.append(execution_id)
                else:
                    new.state, new.session_id, new.assigned_at = State.ASSIGNED, session_id, now
            if stored:
                self.batch.update(
                    Execution,
                    stored,
                    {"state": State.ASSIGNED, "session": session_id, "assigned_at": now},
                    state=State.QUEUED,
                )

    def _collapse_deferred(self: Orchestrator, now: datetime, outbox: Outbox) -> None:
        """Of queued calls with the same target and defer key in a workspace, only the newest
        runs; the others forward to it (SPEC §3.6)."""
        self.defer_changed = False
        groups: dict[tuple[Any, ...], list[ExecutionSpec]] = defaultdict(list)
        for spec in self.pending.values():
            if spec.defer_key:
                groups[(spec.workspace_id, spec.module, spec.target, spec.defer_key)].append(spec)
        deferred = []
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
        self._finish(deferred, now, outbox, ack=False)

    def _spawn(self: Orchestrator, spec: ExecutionSpec, now: datetime, outbox: Outbox) -> None:
        """A call of a workflow starts a run of its own, whose root's outcome is the call's."""
        run_id = new_run_id(lambda candidate: Run.objects.filter(pk=candidate).exists())
        Run.objects.create(
            id=run_id,
            project_id=self.project_id,
            workspace_id=spec.workspace_id,
            parent_id=spec.id,
            requires=spec.requires,
            created_at=now,
        )
        Step.objects.create(
            id=f"{run_id}:1",
            run_id=run_id,
            number=1,
            module=spec.module,
            target=spec.target,
            target_type=spec.target_type,
            arguments=spec.arguments,
            options=spec.options,
            created_at=now,
        )
        self.runs[run_id] = RunInfo(
            workspace_id=spec.workspace_id,
            requires=spec.requires,
            memo=spec.options.get("memo") is True,
            owner_id=spec.owner_id,
        )
        self.step_counts[run_id] = 1
        root = self._next_attempt(
            replace(
                spec,
                step_id=f"{run_id}:1",
                run_id=run_id,
                parent_id=None,
                defer_key="",
                cache_key="",
            ),
            now,
            None,
            attempt=1,
        )
        self._finish([(spec.id, {"type": "spawned", "successor": root.id})], now, outbox, ack=False)


def _fits(session: SessionState, spec: ExecutionSpec) -> bool:
    return session.workspace_id == spec.workspace_id and policies.can_run(
        session.targets, session.provides, session.accepts, spec.target_key, spec.requires
    )


def _execute(spec: ExecutionSpec, workspaces: dict[int, WorkspaceState]) -> dict[str, Any]:
    workspace = workspaces.get(spec.workspace_id)
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
