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

How outcomes travel. An execution ends with a final result (value, error, cancelled, abandoned,
timeout) or forwards to another execution whose outcome stands for its own: a retry, the next
attempt after a suspension or recurrence, the surviving call of deferred ones, a spawned run's
root. Whoever waits on an execution is filed under the end of its forward chain as
``(waiter, the ID it waits on)`` and told once that end has a final result. A parent is always
told of its children's outcomes, asked or not.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coflux import protocol
from projects.models import WorkerSession
from runs import keys
from runs.identifiers import new_run_id
from runs.models import Dependency, Execution, LogMessage, Result, Run, Step
from runs.orchestration import bus, lease, policies
from runs.orchestration.dispatch import Dispatcher
from runs.orchestration.records import declared_targets, log_row, result_row, valid_tags
from runs.orchestration.state import (
    ExecutionSpec,
    Outbox,
    RunInfo,
    SessionState,
    Waiter,
    WorkspaceState,
)
from runs.states import FAILURES, RESULT_STATE, UNFINISHED, State
from workspaces.models import Workspace
from workspaces.names import is_valid_workspace_name

logger = logging.getLogger("coflux.orchestrator")

MAX_LOG_ENTRIES = 1000
RECENT = 10_000
MAX_FORWARDS = 100
"""Longest forward chain followed (a guard against a cycle in corrupt data)."""

Chain = tuple[str, Any]
"""Where a forward chain ends: ("pending", execution ID), ("done", result) or ("unknown", None)."""


class LeaseLost(Exception):
    """Another process holds the project now; this orchestrator must stop."""


class Orchestrator(Dispatcher):
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
                    targets={(t["module"], t["name"], t["type"]) for t in session.targets},
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
            requires = row["requires"]
            if requires is None:
                requires = options.get("requires") or {}
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
            outbox.append(_reply(envelope, _refusal("internal_error", detail)))
            return outbox
        channel = envelope.get("channel")
        if channel:
            message = envelope.get("message") or {}
            error = _error("internal_error", detail)
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
                        outbox.append((channel, _error("session_invalid", "unknown session")))
                        continue
                    message = envelope["message"]
                    by_type[message["type"]].append((session, channel, message))
            # Logs, calls and waits sent before a result belong to the still-running execution.
            finishing = {m["execution"] for _, _, m in by_type["result"]}
            self._started(by_type["started"], finishing, now)
            self._logs(by_type["log"], outbox)
            self._submits(by_type["submit"], now, outbox)
            self._waits(by_type["wait"], now, outbox)
            self._cancels(by_type["cancel"], now, outbox)
            self._results(by_type["result"], now, outbox)
            self._heartbeats(by_type["heartbeat"], now, outbox)
            self._draining(by_type["draining"])
            for envelope in commands:
                outbox.append(_reply(envelope, self._command(envelope["command"], now, outbox)))
            self._expire_sessions(now, outbox)
            self._dispatch(now, outbox)
            self._flush_writes()
        return outbox

    def _flush_writes(self) -> None:
        """Insert the tick's new executions, then the results (some forward to them)."""
        if self.new_executions:
            Execution.objects.bulk_create(self.new_executions.values())
            self.new_executions = {}
        if self.new_results:
            Result.objects.bulk_create(self.new_results, ignore_conflicts=True)
            self.new_results = []

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

    # --- sessions --------------------------------------------------------------------------

    def _connect(self, channel: str, hello: dict[str, Any], now: datetime, outbox: Outbox) -> None:
        name = hello["workspace"]
        if not is_valid_workspace_name(name):
            outbox.append((channel, _error("invalid_workspace", f"invalid workspace: {name!r}")))
            return
        targets = declared_targets(hello["targets"])
        if targets is None:
            outbox.append(
                (
                    channel,
                    _error(
                        "invalid_targets",
                        "targets must be a list of objects with module, name and type",
                    ),
                )
            )
            return
        provides, accepts = hello["provides"], hello["accepts"]
        if not (valid_tags(provides) and valid_tags(accepts)) or hello["concurrency"] < 0:
            outbox.append(
                (channel, _error("invalid_hello", "bad provides, accepts or concurrency"))
            )
            return
        workspace = self._workspace(name)
        session = self.sessions.get(hello["session"] or "")
        if session is not None and session.workspace_id != workspace.id:
            outbox.append(
                (channel, _error("workspace_mismatch", "the session belongs to another workspace"))
            )
            return
        declared = [{"module": m, "name": t, "type": k} for m, t, k in sorted(targets)]
        fields = {
            "targets": declared,
            "concurrency": hello["concurrency"],
            "provides": provides,
            "accepts": accepts,
            "connected": True,
            "channel_name": channel,
            "draining": False,
            "last_seen_at": now,
            "disconnected_at": None,
        }
        if session is None:
            row = WorkerSession.objects.create(
                project_id=self.project_id, workspace_id=workspace.id, **fields
            )
            session = SessionState(
                id=row.id,
                workspace_id=workspace.id,
                targets=targets,
                concurrency=hello["concurrency"],
                provides=provides,
                accepts=accepts,
                channel=channel,
            )
            self.sessions[row.id] = session
        else:
            WorkerSession.objects.filter(id=session.id).update(**fields)
            session.targets = targets
            session.concurrency = hello["concurrency"]
            session.provides = provides
            session.accepts = accepts
            session.channel = channel
            session.draining = False
            session.disconnected_at = None
            session.heartbeat_at = None
        outbox.append(
            (
                channel,
                {
                    "type": "welcome",
                    "protocol": protocol.VERSION,
                    "session": session.id,
                    "executions": sorted(session.executions),
                },
            )
        )

    def _workspace(self, name: str) -> Workspace:
        workspace = (
            Workspace.objects.filter(project_id=self.project_id, name__iexact=name)
            .exclude(state=Workspace.State.ARCHIVED)
            .first()
        )
        if workspace is None:
            workspace = Workspace.objects.create(project_id=self.project_id, name=name.lower())
        self.workspaces[workspace.id] = WorkspaceState(
            workspace.name, workspace.state, workspace.base_id
        )
        return workspace

    def _disconnect(self, session_id: str, channel: str, now: datetime) -> None:
        session = self.sessions.get(session_id)
        if session is None or session.channel != channel:
            return
        session.channel = None
        session.disconnected_at = now
        WorkerSession.objects.filter(id=session_id).update(
            connected=False, disconnected_at=now, last_seen_at=now
        )

    def _draining(self, items: list[tuple[SessionState, str, dict[str, Any]]]) -> None:
        ids = [session.id for session, _, _ in items]
        for session, _, _ in items:
            session.draining = True
        if ids:
            WorkerSession.objects.filter(id__in=ids).update(draining=True)

    def _heartbeats(self, items, now: datetime, outbox: Outbox) -> None:
        """Executions a worker no longer runs are abandoned; ones it should not run, aborted.

        Only executions assigned before the session's previous heartbeat count as missing: the
        worker may not have received a newer one when it wrote this heartbeat.
        """
        lost: list[str] = []
        for session, channel, message in items:
            listed = {e for e in message["executions"] if isinstance(e, str)}
            if session.heartbeat_at is not None:
                for execution_id in session.executions - listed:
                    spec = self.running[execution_id]
                    if spec.assigned_at is None or spec.assigned_at < session.heartbeat_at:
                        lost.append(execution_id)
            for execution_id in sorted(listed - session.executions):
                outbox.append((channel, {"type": "abort", "execution": execution_id}))
            session.heartbeat_at = now
        self._finish([(e, {"type": "abandoned"}) for e in lost], now, outbox, ack=False)
        ids = {session.id for session, _, _ in items}
        if ids:
            WorkerSession.objects.filter(id__in=ids).update(last_seen_at=now)

    def _expire_sessions(self, now: datetime, outbox: Outbox) -> None:
        """Sessions gone longer than the grace period lose their executions (abandoned)."""
        grace = timedelta(seconds=settings.COFLUX_SESSION_GRACE)
        expired = [
            s
            for s in self.sessions.values()
            if s.channel is None and s.disconnected_at and now - s.disconnected_at >= grace
        ]
        if not expired:
            return
        self._end_sessions(expired, now, outbox)

    def _end_sessions(self, ended: list[SessionState], now: datetime, outbox: Outbox) -> None:
        """Forget sessions for good; what they were running is abandoned."""
        abandoned = []
        for session in ended:
            del self.sessions[session.id]
            abandoned.extend((e, {"type": "abandoned"}) for e in sorted(session.executions))
        WorkerSession.objects.filter(id__in=[s.id for s in ended]).update(
            expired_at=now, connected=False
        )
        self._finish(abandoned, now, outbox, ack=False)

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

    # --- messages about executions ---------------------------------------------------------

    def _started(self, items, finishing: set[str], now: datetime) -> None:
        ids = [m["execution"] for session, _, m in items if m["execution"] in session.executions]
        # Executions that also finish in this tick get their start time with their result.
        self.starting = {i for i in ids if i in finishing}
        ids = [i for i in ids if i not in self.starting]
        if ids:
            Execution.objects.filter(id__in=ids, started_at=None).update(started_at=now)

    def _logs(self, items, outbox: Outbox) -> None:
        rows = []
        for session, channel, message in items:
            execution_id = message["execution"]
            if execution_id not in session.executions:
                continue
            for entry in message["entries"][:MAX_LOG_ENTRIES]:
                row = log_row(execution_id, entry)
                if row is None:
                    outbox.append(
                        (
                            channel,
                            _error(
                                "invalid_log",
                                "log entries are [timestamp_ms, level, template, values]",
                            ),
                        )
                    )
                    break
                rows.append(row)
        if rows:
            LogMessage.objects.bulk_create(rows)

    def _submits(self, items, now: datetime, outbox: Outbox) -> None:
        if not items:
            return
        self._load_submitted_refs({m["parent"] for _, _, m in items})
        run_ids = {m["parent"].split(":", 1)[0] for _, _, m in items}
        self._load_step_counts(run_ids)
        self._load_runs(run_ids)
        self._load_memos(items)
        steps: list[Step] = []
        dependencies: list[Dependency] = []
        for session, channel, message in items:
            parent_id = message["parent"]
            ref = message["ref"]
            error = _check_submit(message, session, parent_id)
            if error is not None:
                outbox.append((channel, {**_error("invalid_submit", error), "ref": ref}))
                continue
            run_id = parent_id.split(":", 1)[0]
            existing = self.submitted.get((parent_id, ref))
            memo = self._memo_key(run_id, message)
            reused = self._memoised(run_id, memo, session.workspace_id) if memo else None
            if existing is not None:
                step_id, execution_id = existing
            elif reused is not None:
                step_id, execution_id = reused.rsplit(":", 1)[0], reused
                self.submitted[(parent_id, ref)] = (step_id, execution_id)
            else:
                step = self._new_step(session, message, run_id, memo, now)
                steps.append(step)
                step_id, execution_id = step.id, f"{step.id}:1"
                self.submitted[(parent_id, ref)] = (step_id, execution_id)
                if memo:
                    self._remember(self.memos, (run_id, memo), execution_id)
            if message["wait"] or reused is not None:
                dependencies.append(
                    Dependency(
                        execution_id=parent_id,
                        dependency_id=execution_id,
                        memo_hit=reused is not None,
                        created_at=now,
                    )
                )
            outbox.append(
                (
                    channel,
                    {"type": "submitted", "ref": ref, "execution": execution_id, "step": step_id},
                )
            )
            if existing is not None or reused is not None:
                # Not a new child: its outcome may be known already, and is not pushed unasked.
                self._watch(parent_id, execution_id, outbox)
        if steps:
            Step.objects.bulk_create(steps)
        if dependencies:
            Dependency.objects.bulk_create(dependencies, ignore_conflicts=True)

    def _new_step(
        self,
        session: SessionState,
        message: dict[str, Any],
        run_id: str,
        memo: str,
        now: datetime,
    ) -> Step:
        """Record a call as a new step with a queued first execution."""
        number = self.step_counts[run_id] = self.step_counts[run_id] + 1
        step_id = f"{run_id}:{number}"
        options, arguments = message["options"], message["arguments"]
        module, target = message["module"], message["target"]
        defer = keys.defer_key(module, target, arguments, options.get("defer"))
        cache = keys.cache_key(module, target, arguments, options.get("cache"))
        delay_ms = options.get("delay_ms") or 0
        execute_after = now + timedelta(milliseconds=delay_ms) if delay_ms else None
        # Inserted after dispatch, so that most are written once, already assigned.
        self.new_executions[f"{step_id}:1"] = Execution(
            id=f"{step_id}:1",
            step_id=step_id,
            attempt=1,
            workspace_id=session.workspace_id,
            created_at=now,
            execute_after=execute_after,
        )
        spec = ExecutionSpec(
            id=f"{step_id}:1",
            step_id=step_id,
            run_id=run_id,
            attempt=1,
            workspace_id=session.workspace_id,
            module=message["module"],
            target=message["target"],
            target_type=message["target_type"],
            arguments=arguments,
            options=options,
            created_at=now,
            execute_after=execute_after,
            parent_id=message["parent"],
            owner_id=message["parent"],
            requires=policies.effective_requires(
                self.runs[run_id].requires, options.get("requires")
            ),
            defer_key=defer,
            cache_key=cache,
        )
        self._queue(spec)
        self._block_pending(spec, [])
        group_name = message.get("group_name")
        return Step(
            id=step_id,
            run_id=run_id,
            number=number,
            module=message["module"],
            target=message["target"],
            target_type=message["target_type"],
            parent_id=message["parent"],
            parent_ref=message["ref"],
            group=message["group"],
            group_name=group_name[:255] if isinstance(group_name, str) else "",
            arguments=arguments,
            options=options,
            memo_key=memo,
            defer_key=defer,
            cache_key=cache,
            created_at=now,
        )

    def _memo_key(self, run_id: str, message: dict[str, Any]) -> str:
        memo = message["options"].get("memo")
        if memo is None:
            memo = self.runs[run_id].memo
        return keys.memo_key(message["module"], message["target"], message["arguments"], memo)

    def _load_memos(self, items) -> None:
        """Find earlier steps of the same runs with the memo keys these calls have."""
        wanted = set()
        for _, _, message in items:
            if isinstance(message.get("options"), dict) and isinstance(message.get("parent"), str):
                run_id = message["parent"].split(":", 1)[0]
                if run_id in self.runs and isinstance(message.get("arguments"), list):
                    memo = self._memo_key(run_id, message)
                    if memo and (run_id, memo) not in self.memos:
                        wanted.add((run_id, memo))
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
                self._remember(self.memos, (run_id, memo), execution_id)

    def _memoised(self, run_id: str, memo: str, workspace_id: int) -> str | None:
        """The execution a memoised call reuses: pending or succeeded, in this workspace or an
        ancestor."""
        execution_id = self.memos.get((run_id, memo))
        if execution_id is None:
            return None
        status, end = self._chains([execution_id])[execution_id]
        if status == "unknown" or status == "done" and end.get("type") != "value":
            return None
        workspace = self._workspace_of(execution_id)
        if workspace is not None and workspace not in self._ancestry(workspace_id):
            return None
        return execution_id

    def _workspace_of(self, execution_id: str) -> int | None:
        spec = self.pending.get(execution_id) or self.running.get(execution_id)
        if spec is not None:
            return spec.workspace_id
        new = self.new_executions.get(execution_id)
        if new is not None:
            return new.workspace_id
        stored = Execution.objects.filter(id=execution_id).values_list("workspace_id", flat=True)
        return stored.first()

    def _ancestry(self, workspace_id: int) -> list[int]:
        chain: list[int] = []
        current: int | None = workspace_id
        while current is not None and current not in chain:
            chain.append(current)
            info = self.workspaces.get(current)
            current = info.base_id if info else None
        return chain

    def _watch(self, waiter: str, target: str, outbox: Outbox) -> None:
        """Tell ``waiter`` the outcome of ``target`` now if it has one, else when it has."""
        status, end = self._chains([target])[target]
        if status == "done":
            self._send_to_execution(waiter, _resolved(waiter, target, end), outbox)
        elif status == "pending":
            self.waiters[end].add((waiter, target))

    def _load_submitted_refs(self, parents: set[str]) -> None:
        """After a restart, learn which calls of running executions already became steps."""
        unknown = parents - self.known_parents
        if not unknown:
            return
        for step_id, parent_id, ref in Step.objects.filter(parent_id__in=unknown).values_list(
            "id", "parent_id", "parent_ref"
        ):
            self.submitted[(parent_id, ref)] = (step_id, f"{step_id}:1")
        self.known_parents |= unknown

    def _load_step_counts(self, runs: set[str]) -> None:
        unknown = runs - self.step_counts.keys()
        if unknown:
            counts = dict(
                Step.objects.filter(run_id__in=unknown)
                .values_list("run_id")
                .annotate(Max("number"))
                .values_list("run_id", "number__max")
            )
            for run_id in unknown:
                self.step_counts[run_id] = counts.get(run_id) or 0

    def _waits(self, items, now: datetime, outbox: Outbox) -> None:
        if not items:
            return
        chains = self._chains({t for _, _, m in items for t in m["targets"]})
        dependencies = []
        for session, channel, message in items:
            waiter = message["execution"]
            if waiter not in session.executions:
                outbox.append(
                    (
                        channel,
                        {
                            **_error("invalid_wait", f"{waiter} is not running here"),
                            "execution": waiter,
                        },
                    )
                )
                continue
            unresolved = []
            for target in message["targets"]:
                status, end = chains[target]
                if status == "unknown":
                    outbox.append(
                        (
                            channel,
                            {
                                **_error("unknown_execution", f"no execution {target}"),
                                "execution": waiter,
                                "target": target,
                            },
                        )
                    )
                    continue
                dependencies.append(
                    Dependency(execution_id=waiter, dependency_id=target, created_at=now)
                )
                if not message["reply"]:
                    continue
                if status == "done":
                    outbox.append((channel, _resolved(waiter, target, end)))
                else:
                    self.waiters[end].add((waiter, target))
                    unresolved.append(target)
            if unresolved:
                outbox.append(
                    (channel, {"type": "pending", "execution": waiter, "targets": unresolved})
                )
        if dependencies:
            Dependency.objects.bulk_create(dependencies, ignore_conflicts=True)

    def _cancels(self, items, now: datetime, outbox: Outbox) -> None:
        targets = [t for session, _, m in items for t in m["targets"] if isinstance(t, str)]
        if targets:
            self._cancel(targets, now, outbox)

    def _results(self, items, now: datetime, outbox: Outbox) -> None:
        accepted: list[tuple[str, dict[str, Any]]] = []
        late: list[tuple[str, str]] = []
        for session, channel, message in items:
            execution_id = message["execution"]
            running = self.running.get(execution_id)
            if running is not None and running.session_id == session.id:
                accepted.append((execution_id, message["result"]))
            else:
                # Already finished (first result wins) or never ours: the worker may forget it.
                late.append((channel, execution_id))
        self._finish(accepted, now, outbox, ack=True)
        outbox.extend((channel, {"type": "ack", "execution": e}) for channel, e in late)

    # --- outcomes --------------------------------------------------------------------------

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
            Execution.objects.filter(id__in=ids, state__in=list(UNFINISHED)).update(
                state=state, completed_at=now, **started
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
        successor = ExecutionSpec(
            **{
                **spec.__dict__,
                "id": execution_id,
                "attempt": attempt,
                "workspace_id": workspace_id,
                "created_at": now,
                "execute_after": execute_after,
                "failures_before": failures_before,
                "blocked_on": set(),
                "wait_any": False,
                "session_id": None,
                "assigned_at": None,
            }
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
            self._send_to_execution(waiter, _resolved(waiter, target, result), outbox)
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

    # --- cancellation ----------------------------------------------------------------------

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

    # --- commands --------------------------------------------------------------------------

    def _command(self, command: Any, now: datetime, outbox: Outbox) -> dict[str, Any]:
        kind = command.get("type") if isinstance(command, dict) else None
        if kind == "cancel" and isinstance(command.get("execution"), str):
            target = command["execution"]
            if self._chains([target])[target][0] == "unknown" or not self._in_project(target):
                return _refusal("execution_not_found", f"No execution {target!r}.")
            return {"ok": True, "cancelled": self._cancel([target], now, outbox)}
        if kind == "rerun" and isinstance(command.get("step"), str):
            return self._rerun(command["step"], command.get("workspace"), now, outbox)
        if kind == "archive" and isinstance(command.get("workspace"), str):
            return self._archive(command["workspace"], now, outbox)
        return _refusal("invalid_command", f"Unknown command {kind!r}.")

    def _in_project(self, execution_id: str) -> bool:
        if execution_id in self.pending or execution_id in self.running:
            return True
        return Execution.objects.filter(
            id=execution_id, workspace__project_id=self.project_id
        ).exists()

    def _rerun(
        self, step_id: str, workspace_name: Any, now: datetime, outbox: Outbox
    ) -> dict[str, Any]:
        """A new attempt at a step, due now, in the given workspace (SPEC §3.12)."""
        step = (
            Step.objects.filter(id=step_id, run__project_id=self.project_id)
            .select_related("parent")
            .first()
        )
        if step is None:
            return _refusal("step_not_found", f"No step {step_id!r}.")
        executions = list(step.executions.order_by("attempt"))
        if not executions:
            return _refusal("step_not_found", f"Step {step_id!r} has no executions.")
        base = step.parent.workspace_id if step.parent is not None else executions[0].workspace_id
        if workspace_name is None:
            workspace_id = executions[-1].workspace_id
        else:
            found = self._workspace_named(workspace_name)
            if found is None:
                # Created since the orchestrator last looked (a manifest or submission made it).
                self._load_workspaces()
                found = self._workspace_named(workspace_name)
            if found is None:
                return _refusal("workspace_not_found", f"No workspace {workspace_name!r}.")
            workspace_id = found
        if base not in self._ancestry(workspace_id):
            return _refusal(
                "workspace_invalid",
                f"Step {step_id} can only be re-run in workspace "
                f"{self.workspaces[base].name!r} or its descendants.",
            )
        unfinished = [
            e.id for e in executions if e.state in UNFINISHED and e.workspace_id == workspace_id
        ]
        if unfinished:
            self._cancel(unfinished, now, outbox)
        self._load_runs({step.run_id})
        latest = self._spec_from_row(executions[-1])
        attempt = max(e.attempt for e in executions) + 1
        spec = self._next_attempt(latest, now, None, attempt=attempt, workspace_id=workspace_id)
        if step.memo_key:
            # Later calls with this memo key get the re-run's outcome.
            self._remember(self.memos, (step.run_id, step.memo_key), spec.id)
        return {"ok": True, "execution_id": spec.id, "attempt": attempt, "step_id": step_id}

    def _archive(self, name: str, now: datetime, outbox: Outbox) -> dict[str, Any]:
        """Archive a workspace (SPEC §1): its queued work is cancelled and its workers' sessions
        end (what they ran is abandoned, and they are told so); refused while it has live
        children."""
        self._load_workspaces()
        workspace_id = self._workspace_named(name)
        if workspace_id is None:
            return _refusal("workspace_not_found", f"No workspace {name!r}.")
        children = sorted(
            ws.name
            for ws in self.workspaces.values()
            if ws.base_id == workspace_id and ws.state != "archived"
        )
        if children:
            return _refusal(
                "workspace_has_children",
                f"Workspace {name!r} still has workspaces based on it: {', '.join(children)}.",
            )
        Workspace.objects.filter(id=workspace_id).update(state=Workspace.State.ARCHIVED)
        self.workspaces[workspace_id].state = "archived"
        queued = [spec for spec in self.pending.values() if spec.workspace_id == workspace_id]
        cancelled = self._cancel_specs(queued, now, outbox)
        sessions = [s for s in self.sessions.values() if s.workspace_id == workspace_id]
        for session in sessions:
            if session.channel:
                outbox.append(
                    (session.channel, _error("session_invalid", "the workspace was archived"))
                )
        self._end_sessions(sessions, now, outbox)
        return {"ok": True, "cancelled": cancelled, "sessions": [s.id for s in sessions]}

    def _workspace_named(self, name: Any) -> int | None:
        if not isinstance(name, str):
            return None
        for workspace_id, workspace in self.workspaces.items():
            if workspace.name.lower() == name.lower() and workspace.state != "archived":
                return workspace_id
        return None

    # --- spawned runs ----------------------------------------------------------------------

    def _spawn(self, spec: ExecutionSpec, now: datetime, outbox: Outbox) -> None:
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
            ExecutionSpec(
                **{
                    **spec.__dict__,
                    "step_id": f"{run_id}:1",
                    "run_id": run_id,
                    "parent_id": None,
                    "defer_key": "",
                    "cache_key": "",
                }
            ),
            now,
            None,
            attempt=1,
        )
        self._finish([(spec.id, {"type": "spawned", "successor": root.id})], now, outbox, ack=False)


# --- helpers ---------------------------------------------------------------------------------


def _renew_interval() -> float:
    return settings.COFLUX_LEASE_SECONDS / 3


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": code, "message": message}


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message}


def _reply(envelope: dict[str, Any], reply: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        bus.REPLY_PREFIX + str(envelope.get("reply_to")),
        {"type": "orchestrator.reply", **reply},
    )


def _resolved(waiter: str, target: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "resolved", "execution": waiter, "target": target, "result": result}


def _check_submit(message: dict[str, Any], session: SessionState, parent_id: str) -> str | None:
    if parent_id not in session.executions:
        return f"the parent execution {parent_id} is not running on this worker"
    if message["target_type"] not in ("workflow", "task"):
        return f"unknown target type {message['target_type']!r}"
    if not message["module"] or not message["target"]:
        return "module and target must not be empty"
    if not all(
        isinstance(a, dict) and a.get("type") in ("inline", "blob") for a in message["arguments"]
    ):
        return "arguments must be values in the wire format"
    return None
