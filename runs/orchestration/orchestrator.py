"""The orchestration of one project: a tick applies everything that arrived, in one transaction.

``Orchestrator.tick(envelopes)`` is plain synchronous code: the async shell
(``runs.orchestration.runner``) drains its inbox, calls ``tick`` in a thread, and delivers the
returned messages only after the transaction has committed (ARCHITECTURE musts 1 and 4). A tick
touches the database a fixed number of times whatever the batch size: bulk inserts, one UPDATE
per distinct new state, lookups by ``id__in``.

Envelopes put into the inbox:

- ``{"kind": "connect", "channel": str, "hello": Hello}`` — a worker said hello;
- ``{"kind": "disconnect", "session": str, "channel": str}`` — its websocket closed;
- ``{"kind": "message", "session": str, "channel": str, "message": <protocol message>}``;
- ``{"kind": "wake"}`` — runs were queued or workspaces changed outside the orchestrator;
- ``{"kind": "command", "command": {...}, "reply_to": str}`` — see ``runs.orchestration.calls``.

The work is split by subject over mixins sharing this state: ``sessions`` (hello, heartbeats,
expiry), ``messages`` (what running executions send), ``outcomes`` (results, forwards,
cancellation), ``commands`` (from the API) and ``dispatch`` (what starts where).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from projects.models import WorkerSession
from runs import keys
from runs.metrics import store_metric_messages
from runs.models import Dependency, Execution, Result, Run, Step
from runs.orchestration import lease, policies, records, writes
from runs.orchestration.commands import Commands
from runs.orchestration.dispatch import Dispatcher
from runs.orchestration.messages import Messages
from runs.orchestration.outcomes import Outcomes
from runs.orchestration.sessions import Sessions
from runs.orchestration.state import (
    MAX_FORWARDS,
    RECENT,
    ExecutionSpec,
    Outbox,
    RunInfo,
    SessionState,
    Waiter,
    WorkspaceState,
)
from runs.states import UNFINISHED, State
from workspaces.models import Workspace

logger = logging.getLogger("coflux.orchestrator")


class LeaseLost(Exception):
    """Another process holds the project now; this orchestrator must stop."""


class Orchestrator(Sessions, Messages, Outcomes, Commands, Dispatcher):
    def __init__(self, project_id: int, holder: str | None = None) -> None:
        self.project_id = project_id
        self.holder = holder or lease.new_holder_id()
        self.sessions: dict[str, SessionState] = {}
        self.pending: dict[str, ExecutionSpec] = {}
        self.running: dict[str, ExecutionSpec] = {}
        self.waiters: dict[str, set[Waiter]] = defaultdict(set)
        self.results: dict[str, dict[str, Any]] = {}
        self.forwards: dict[str, str] = {}
        self.runs: dict[str, RunInfo] = {}
        self.step_counts: dict[str, int] = {}
        self.submitted: dict[tuple[str, str], tuple[str, str]] = {}
        self.memos: dict[tuple[str, str], str] = {}
        self.known_parents: set[str] = set()
        self.new_executions: dict[str, Execution] = {}
        self.new_results: list[Result] = []
        self.batch = writes.Batch()
        self.starting: set[str] = set()
        self.workspaces: dict[int, WorkspaceState] = {}
        self.lease_renewed_at: datetime | None = None
        self.defer_changed = False

    # --- start-up --------------------------------------------------------------------------

    def load(self) -> Outbox:
        """Rebuild memory from the database; returns notices for sessions' last known channels.

        Sessions are treated as disconnected from now: each gets the grace period to reconnect
        (or, if its consumer lives on in another server process, to announce itself again).
        """
        now = timezone.now()
        self.__init__(self.project_id, self.holder)  # type: ignore[misc]
        outbox: Outbox = []
        with transaction.atomic():
            self._renew_lease(now, force=True)
            self._load_workspaces()
            live = WorkerSession.objects.filter(project_id=self.project_id, expired_at=None)
            for session in live:
                self.sessions[session.id] = SessionState(
                    id=session.id,
                    workspace_id=session.workspace_id,
                    targets=records.declared_targets(session.targets) or set(),
                    concurrency=session.concurrency,
                    provides=session.provides,
                    accepts=session.accepts,
                    channel=None,
                    draining=session.draining,
                    disconnected_at=session.disconnected_at or now,
                )
                if session.connected and session.channel_name:
                    outbox.append((session.channel_name, {"type": "orchestrator.restarted"}))
            live.filter(connected=True).update(connected=False, disconnected_at=now)
            unfinished = list(
                Execution.objects.filter(
                    workspace__project_id=self.project_id, state__in=list(UNFINISHED)
                )
                .select_related("step")
                .order_by("created_at", "id")
            )
            self._load_runs({execution.step.run_id for execution in unfinished})
            for execution in unfinished:
                spec = self._spec_from_row(execution)
                if execution.state == State.QUEUED:
                    self._queue(spec)
                else:
                    spec.session_id = execution.session_id or ""
                    spec.assigned_at = execution.assigned_at
                    self._add_running(spec)
            for execution in unfinished:
                if execution.state == State.QUEUED:
                    self._block_pending(self.pending[execution.id], execution.wait_for)
            self._load_waiters()
            self._expire_orphans(now, outbox)
            self._flush_writes()
        return outbox

    def _load_workspaces(self) -> None:
        for ws in Workspace.objects.filter(project_id=self.project_id).values(
            "id", "name", "state", "base_id"
        ):
            self.workspaces[ws["id"]] = WorkspaceState(ws["name"], ws["state"], ws["base_id"])

    def _load_runs(self, run_ids: set[str]) -> None:
        """Learn the run-wide settings (requires, memo) of runs not yet known."""
        unknown = run_ids - self.runs.keys()
        if not unknown:
            return
        roots = dict(
            Step.objects.filter(run_id__in=unknown, number=1).values_list("run_id", "options")
        )
        rows = Run.objects.filter(id__in=unknown).values(
            "id", "workspace_id", "requires", "parent_id", "parent__step__parent_id"
        )
        for row in rows:
            options = roots.get(row["id"]) or {}
            requires = policies.run_requires(row["requires"], options)
            if len(self.runs) >= RECENT:
                self.runs.pop(next(iter(self.runs)))
            self.runs[row["id"]] = RunInfo(
                workspace_id=row["workspace_id"],
                requires=requires,
                memo=options.get("memo") is True,
                owner_id=row["parent__step__parent_id"] or row["parent_id"],
            )

    def _run(self, run_id: str) -> RunInfo:
        if run_id not in self.runs:
            self._load_runs({run_id})
        return self.runs[run_id]

    def _spec_from_row(self, execution: Execution) -> ExecutionSpec:
        step = execution.step
        run = self._run(step.run_id)
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
            requires=policies.effective_requires(
                run.requires, None if root else step.options.get("requires")
            ),
            defer_key=step.defer_key,
            cache_key=step.cache_key,
            failures_before=execution.failures_before,
        )

    def _load_waiters(self) -> None:
        """Re-file who waits on unfinished executions: callers along forward chains, and the
        dependencies running executions recorded."""
        ends = set(self.pending) | set(self.running)
        frontier = ends
        for _ in range(MAX_FORWARDS):
            rows = list(
                Result.objects.filter(successor_id__in=frontier).values_list(
                    "execution_id", "successor_id", "execution__step__parent_id"
                )
            )
            if not rows:
                break
            for execution_id, successor, parent in rows:
                self.forwards[execution_id] = successor
                end = self._chain_end_in_memory(successor)
                if parent and end is not None:
                    self.waiters[end].add((parent, execution_id))
            frontier = {row[0] for row in rows}
        if self.running:
            pairs = Dependency.objects.filter(execution_id__in=list(self.running)).values_list(
                "execution_id", "dependency_id"
            )
            by_target: dict[str, list[str]] = defaultdict(list)
            for waiter, target in pairs:
                by_target[target].append(waiter)
            for target, (status, end) in self._chains(list(by_target)).items():
                if status == "pending":
                    self.waiters[end].update((waiter, target) for waiter in by_target[target])

    def _chain_end_in_memory(self, execution_id: str) -> str | None:
        for _ in range(MAX_FORWARDS):
            if execution_id in self.pending or execution_id in self.running:
                return execution_id
            if execution_id not in self.forwards:
                return None
            execution_id = self.forwards[execution_id]
        return None

    def _expire_orphans(self, now: datetime, outbox: Outbox) -> None:
        """Executions assigned to sessions that no longer exist can never report: abandon them."""
        orphans = [e.id for e in self.running.values() if e.session_id not in self.sessions]
        if orphans:
            self._finish([(e, {"type": "abandoned"}) for e in orphans], now, outbox, ack=False)

    # --- the tick --------------------------------------------------------------------------

    def tick(self, envelopes: list[dict[str, Any]]) -> Outbox:
        """Apply a batch in one transaction; on failure retry each envelope on its own.

        A failed transaction may have left memory ahead of the database, so memory is rebuilt
        from the database before the retry; an envelope that fails on its own is answered with
        an error and dropped, so one bad message cannot stall the project.
        """
        try:
            return self._tick(envelopes)
        except LeaseLost:
            raise
        except Exception:
            logger.exception("tick of %d envelopes failed; retrying one by one", len(envelopes))
        outbox = self.load()
        for envelope in envelopes:
            try:
                outbox.extend(self._tick([envelope]))
            except LeaseLost:
                raise
            except Exception as exc:
                logger.exception("dropping envelope %r", envelope.get("kind"))
                outbox.extend(self._load_after_failure(envelope, exc))
        return outbox

    def _load_after_failure(self, envelope: dict[str, Any], exc: Exception) -> Outbox:
        outbox = self.load()
        detail = f"the server could not apply this message: {exc}"
        if envelope.get("kind") == "command":
            outbox.append(records.reply(envelope, records.refusal("internal_error", detail)))
            return outbox
        channel = envelope.get("channel")
        if channel:
            message = envelope.get("message") or {}
            error = records.error("internal_error", detail)
            for key in ("ref", "execution"):
                if isinstance(message.get(key), str):
                    error[key] = message[key]
            outbox.append((channel, error))
        return outbox

    def _tick(self, envelopes: list[dict[str, Any]]) -> Outbox:
        now = timezone.now()
        outbox: Outbox = []
        by_type: dict[str, list[tuple[SessionState, str, dict[str, Any]]]] = defaultdict(list)
        commands: list[dict[str, Any]] = []
        with transaction.atomic():
            self._renew_lease(now)
            for envelope in envelopes:
                kind = envelope["kind"]
                if kind == "connect":
                    self._connect(envelope["channel"], envelope["hello"], now, outbox)
                elif kind == "disconnect":
                    self._disconnect(envelope["session"], envelope["channel"], now)
                elif kind == "wake":
                    self._wake()
                elif kind == "command":
                    commands.append(envelope)
                elif kind == "message":
                    session = self.sessions.get(envelope["session"])
                    channel = envelope["channel"]
                    if session is None or session.channel != channel:
                        outbox.append(
                            (channel, records.error("session_invalid", "unknown session"))
                        )
                        continue
                    message = envelope["message"]
                    by_type[message["type"]].append((session, channel, message))
            # Logs, calls and waits sent before a result belong to the still-running execution.
            finishing = {m["execution"] for _, _, m in by_type["result"]}
            self._started(by_type["started"], finishing, now)
            self._logs(by_type["log"], outbox)
            store_metric_messages(by_type["metric"])
            self._submits(by_type["submit"], now, outbox)
            self._waits(by_type["wait"], now, outbox)
            self._cancels(by_type["cancel"], now, outbox)
            self._results(by_type["result"], now, outbox)
            self._heartbeats(by_type["heartbeat"], now, outbox)
            self._draining(by_type["draining"])
            if commands:
                # Commands read steps and executions back from the database.
                self.batch.flush()
            for envelope in commands:
                outbox.append(
                    records.reply(envelope, self._command(envelope["command"], now, outbox))
                )
            self._expire_sessions(now, outbox)
            self._dispatch(now, outbox)
            self._flush_writes()
        return outbox

    def _flush_writes(self) -> None:
        """Write what the tick changed: what it queued as it went, then the new executions and
        the results (some forward to them)."""
        self.batch.insert(self.new_executions.values())
        self.batch.insert(self.new_results, ignore_conflicts=True)
        self.new_executions = {}
        self.new_results = []
        self.batch.flush()

    def next_deadline(self) -> datetime | None:
        """When the orchestrator must tick even if nothing arrives (expiries, due executions)."""
        grace = timedelta(seconds=settings.COFLUX_SESSION_GRACE)
        times = [s.disconnected_at + grace for s in self.sessions.values() if s.disconnected_at]
        # Only future ones: an overdue execution that cannot start waits for something to change.
        now = timezone.now()
        times += [
            p.execute_after
            for p in self.pending.values()
            if p.execute_after and p.execute_after > now
        ]
        if self.lease_renewed_at is not None:
            times.append(self.lease_renewed_at + timedelta(seconds=_renew_interval()))
        return min(times) if times else None

    # --- leases ----------------------------------------------------------------------------

    def _renew_lease(self, now: datetime, force: bool = False) -> None:
        due = self.lease_renewed_at is None or force
        if not due and now - self.lease_renewed_at >= timedelta(seconds=_renew_interval()):
            due = True
        if due:
            if not lease.claim(self.project_id, self.holder):
                raise LeaseLost(self.project_id)
            self.lease_renewed_at = now

    def _wake(self) -> None:
        """Pick up runs queued by the API, and workspace changes (pause, resume)."""
        self._load_workspaces()
        queued = list(
            Execution.objects.filter(workspace__project_id=self.project_id, state=State.QUEUED)
            .exclude(id__in=list(self.pending))
            .select_related("step")
            .order_by("created_at", "id")
        )
        self._load_runs({execution.step.run_id for execution in queued})
        for execution in queued:
            step = execution.step
            if step.number == 1 and step.options.get("cache") and not step.cache_key:
                step.cache_key = keys.cache_key(
                    step.module, step.target, step.arguments, step.options["cache"]
                )
                Step.objects.filter(id=step.id).update(cache_key=step.cache_key)
            self._queue(self._spec_from_row(execution))


def _renew_interval() -> float:
    return settings.COFLUX_LEASE_SECONDS / 3
