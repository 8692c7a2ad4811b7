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
- ``{"kind": "wake"}`` — executions were queued outside the orchestrator (the REST API).
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coflux import protocol
from projects.models import WorkerSession
from runs.models import Dependency, Execution, LogMessage, Result, Step
from runs.orchestration import bus, lease
from runs.orchestration.state import Outbox, PendingExecution, RunningExecution, SessionState
from runs.states import RESULT_STATE, State
from workspaces.models import Workspace
from workspaces.names import is_valid_workspace_name

logger = logging.getLogger("coflux.orchestrator")

MAX_LOG_ENTRIES = 1000
RECENT_RESULTS = 10_000


class LeaseLost(Exception):
    """Another process holds the project now; this orchestrator must stop."""


class Orchestrator:
    def __init__(self, project_id: int, holder: str | None = None) -> None:
        self.project_id = project_id
        self.holder = holder or lease.new_holder_id()
        self.sessions: dict[str, SessionState] = {}
        self.pending: dict[str, PendingExecution] = {}
        self.running: dict[str, RunningExecution] = {}
        self.waiters: dict[str, set[str]] = defaultdict(set)
        self.results: dict[str, dict[str, Any]] = {}
        self.step_counts: dict[str, int] = {}
        self.submitted: dict[tuple[str, str], tuple[str, str]] = {}
        self.known_parents: set[str] = set()
        self.new_executions: dict[str, Execution] = {}
        self.starting: set[str] = set()
        self.workspaces: dict[int, tuple[str, str]] = {}
        self.lease_renewed_at: datetime | None = None

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
                    channel=None,
                    draining=session.draining,
                    disconnected_at=session.disconnected_at or now,
                )
                if session.connected and session.channel_name:
                    outbox.append((session.channel_name, {"type": "orchestrator.restarted"}))
            live.filter(connected=True).update(connected=False, disconnected_at=now)
            unfinished = (
                Execution.objects.filter(
                    workspace__project_id=self.project_id, state__in=[State.QUEUED, State.ASSIGNED]
                )
                .select_related("step")
                .order_by("created_at", "id")
            )
            for execution in unfinished:
                if execution.state == State.QUEUED:
                    self._add_pending(execution)
                elif execution.session_id in self.sessions:
                    self._add_running(execution.id, execution.session_id, execution.step.parent_id)
                else:
                    self._add_running(execution.id, "", execution.step.parent_id)
            self._expire_orphans(now, outbox)
        return outbox

    def _load_workspaces(self) -> None:
        for ws in Workspace.objects.filter(project_id=self.project_id).values(
            "id", "name", "state"
        ):
            self.workspaces[ws["id"]] = (ws["name"], ws["state"])

    def _add_pending(self, execution: Execution) -> None:
        step = execution.step
        self.pending[execution.id] = PendingExecution(
            id=execution.id,
            run_id=step.run_id,
            workspace_id=execution.workspace_id,
            workspace_name=self.workspaces.get(execution.workspace_id, ("", ""))[0],
            module=step.module,
            target=step.target,
            target_type=step.target_type,
            arguments=step.arguments,
            created_at=execution.created_at,
            execute_after=execution.execute_after,
            timeout_ms=_timeout_ms(step.options),
            parent_id=step.parent_id,
        )

    def _add_running(self, execution_id: str, session_id: str, parent_id: str | None) -> None:
        self.running[execution_id] = RunningExecution(execution_id, session_id, parent_id)
        if session_id in self.sessions:
            self.sessions[session_id].executions.add(execution_id)

    def _expire_orphans(self, now: datetime, outbox: Outbox) -> None:
        """Executions assigned to sessions that no longer exist can never report: abandon them."""
        orphans = [e for e in self.running.values() if e.session_id not in self.sessions]
        if orphans:
            self._finish([(e.id, {"type": "abandoned"}) for e in orphans], now, outbox, ack=None)

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
        channel = envelope.get("channel")
        if channel:
            message = envelope.get("message") or {}
            error = _error("internal_error", f"the server could not apply this message: {exc}")
            for key in ("ref", "execution"):
                if isinstance(message.get(key), str):
                    error[key] = message[key]
            outbox.append((channel, error))
        return outbox

    def _tick(self, envelopes: list[dict[str, Any]]) -> Outbox:
        now = timezone.now()
        outbox: Outbox = []
        by_type: dict[str, list[tuple[SessionState, str, dict[str, Any]]]] = defaultdict(list)
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
            self._results(by_type["result"], now, outbox)
            self._heartbeats(by_type["heartbeat"], now)
            self._draining(by_type["draining"])
            self._expire_sessions(now, outbox)
            self._assign(now, outbox)
            if self.new_executions:
                Execution.objects.bulk_create(self.new_executions.values())
                self.new_executions = {}
        return outbox

    def next_deadline(self) -> datetime | None:
        """When the orchestrator must tick even if nothing arrives (expiries, due executions)."""
        grace = timedelta(seconds=settings.COFLUX_SESSION_GRACE)
        times = [s.disconnected_at + grace for s in self.sessions.values() if s.disconnected_at]
        times += [p.execute_after for p in self.pending.values() if p.execute_after]
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
        targets = _declared_targets(hello["targets"])
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
        provides = hello["provides"]
        if not all(isinstance(v, list) for v in provides.values()) or hello["concurrency"] < 0:
            outbox.append((channel, _error("invalid_hello", "bad provides or concurrency")))
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
                channel=channel,
            )
            self.sessions[row.id] = session
        else:
            WorkerSession.objects.filter(id=session.id).update(**fields)
            session.targets = targets
            session.concurrency = hello["concurrency"]
            session.provides = provides
            session.channel = channel
            session.draining = False
            session.disconnected_at = None
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
            Workspace.objects.filter(project_id=self.project_id, name=name)
            .exclude(state=Workspace.State.ARCHIVED)
            .first()
        )
        if workspace is None:
            workspace = Workspace.objects.create(project_id=self.project_id, name=name)
        self.workspaces[workspace.id] = (workspace.name, workspace.state)
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

    def _heartbeats(self, items: list[tuple[SessionState, str, dict[str, Any]]], now: datetime):
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
        abandoned = []
        for session in expired:
            del self.sessions[session.id]
            abandoned.extend((e, {"type": "abandoned"}) for e in sorted(session.executions))
        WorkerSession.objects.filter(id__in=[s.id for s in expired]).update(expired_at=now)
        self._finish(abandoned, now, outbox, ack=None)

    def _wake(self) -> None:
        self._load_workspaces()
        queued = Execution.objects.filter(
            workspace__project_id=self.project_id, state=State.QUEUED
        ).exclude(id__in=list(self.pending))
        for execution in queued.select_related("step").order_by("created_at", "id"):
            self._add_pending(execution)

    # --- executions ------------------------------------------------------------------------

    def _started(self, items, finishing: set[str], now: datetime) -> None:
        ids = [m["execution"] for session, _, m in items if m["execution"] in session.executions]
        # Executions that also finish in this tick get their start time with their result.
        self.starting = {i for i in ids if i in finishing}
        ids = [i for i in ids if i not in self.starting]
        if ids:
            Execution.objects.filter(id__in=ids, started_at=None).update(started_at=now)

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

    def _finish(
        self,
        outcomes: list[tuple[str, dict[str, Any]]],
        now: datetime,
        outbox: Outbox,
        ack: bool | None,
    ) -> None:
        """Store results of running executions and tell whoever waits for them."""
        if not outcomes:
            return
        rows = []
        by_state: dict[tuple[State, bool], list[str]] = defaultdict(list)
        for execution_id, result in outcomes:
            rows.append(_result_row(execution_id, result, now))
            key = (RESULT_STATE[result["type"]], execution_id in self.starting)
            by_state[key].append(execution_id)
        Result.objects.bulk_create(rows, ignore_conflicts=True)
        for (state, starting), ids in by_state.items():
            started = {"started_at": now} if starting else {}
            Execution.objects.filter(id__in=ids, state=State.ASSIGNED).update(
                state=state, completed_at=now, **started
            )
        for execution_id, result in outcomes:
            running = self.running.pop(execution_id)
            session = self.sessions.get(running.session_id)
            if session is not None:
                session.executions.discard(execution_id)
                if ack and session.channel:
                    outbox.append((session.channel, {"type": "ack", "execution": execution_id}))
            self._remember_result(execution_id, result)
            run_id, step_number, _ = execution_id.split(":")
            if step_number == "1":
                group = bus.GROUP_PREFIX + bus.run_group(run_id)
                outbox.append((group, {"type": "run.finished", "run": run_id}))
            notify = self.waiters.pop(execution_id, set())
            if running.parent_id:
                notify.add(running.parent_id)
            for waiter in sorted(notify):
                self._send_to_execution(waiter, _resolved(waiter, execution_id, result), outbox)

    def _remember_result(self, execution_id: str, result: dict[str, Any]) -> None:
        if len(self.results) >= RECENT_RESULTS:
            self.results.pop(next(iter(self.results)))
        self.results[execution_id] = result

    def _send_to_execution(self, execution_id: str, message: dict, outbox: Outbox) -> None:
        running = self.running.get(execution_id)
        session = self.sessions.get(running.session_id) if running else None
        if session is not None and session.channel is not None:
            outbox.append((session.channel, message))

    def _submits(self, items, now: datetime, outbox: Outbox) -> None:
        if not items:
            return
        self._load_submitted_refs({m["parent"] for _, _, m in items})
        self._load_step_counts({m["parent"].split(":", 1)[0] for _, _, m in items})
        steps: list[Step] = []
        dependencies: list[Dependency] = []
        for session, channel, message in items:
            parent_id = message["parent"]
            ref = message["ref"]
            error = _check_submit(message, session, parent_id)
            if error is not None:
                outbox.append((channel, {**_error("invalid_submit", error), "ref": ref}))
                continue
            existing = self.submitted.get((parent_id, ref))
            if existing is None:
                run_id = parent_id.split(":", 1)[0]
                number = self.step_counts[run_id] = self.step_counts[run_id] + 1
                step_id = f"{run_id}:{number}"
                execution_id = f"{step_id}:1"
                steps.append(
                    Step(
                        id=step_id,
                        run_id=run_id,
                        number=number,
                        module=message["module"],
                        target=message["target"],
                        target_type=message["target_type"],
                        parent_id=parent_id,
                        parent_ref=ref,
                        group=message["group"],
                        arguments=message["arguments"],
                        options=message["options"],
                        created_at=now,
                    )
                )
                # Inserted after assignment, so that most are written once, already assigned.
                self.new_executions[execution_id] = Execution(
                    id=execution_id,
                    step_id=step_id,
                    attempt=1,
                    workspace_id=session.workspace_id,
                    created_at=now,
                )
                self.submitted[(parent_id, ref)] = (step_id, execution_id)
                self.pending[execution_id] = PendingExecution(
                    id=execution_id,
                    run_id=run_id,
                    workspace_id=session.workspace_id,
                    workspace_name=self.workspaces[session.workspace_id][0],
                    module=message["module"],
                    target=message["target"],
                    target_type=message["target_type"],
                    arguments=message["arguments"],
                    created_at=now,
                    execute_after=None,
                    timeout_ms=_timeout_ms(message["options"]),
                    parent_id=parent_id,
                )
            else:
                step_id, execution_id = existing
            if message["wait"]:
                dependencies.append(
                    Dependency(execution_id=parent_id, dependency_id=execution_id, created_at=now)
                )
            outbox.append(
                (
                    channel,
                    {"type": "submitted", "ref": ref, "execution": execution_id, "step": step_id},
                )
            )
            if existing is not None:
                # A re-sent submit: the child may have finished while the worker was away.
                self._reply_if_resolved(parent_id, execution_id, channel, outbox)
        if steps:
            Step.objects.bulk_create(steps)
        if dependencies:
            Dependency.objects.bulk_create(dependencies, ignore_conflicts=True)

    def _reply_if_resolved(self, waiter: str, target: str, channel: str, outbox: Outbox) -> None:
        result = self._lookup_results([target]).get(target)
        if result is not None:
            outbox.append((channel, _resolved(waiter, target, result)))

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
        targets = {t for _, _, m in items for t in m["targets"]}
        results = self._lookup_results(targets)
        existing = set(
            Execution.objects.filter(
                id__in=targets - results.keys() - self.running.keys() - self.pending.keys()
            ).values_list("id", flat=True)
        )
        known = results.keys() | self.running.keys() | self.pending.keys() | existing
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
            for target in message["targets"]:
                if target not in known:
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
                if target in results:
                    outbox.append((channel, _resolved(waiter, target, results[target])))
                else:
                    self.waiters[target].add(waiter)
        if dependencies:
            Dependency.objects.bulk_create(dependencies, ignore_conflicts=True)

    def _lookup_results(self, ids: set[str] | list[str]) -> dict[str, dict[str, Any]]:
        found = {i: self.results[i] for i in ids if i in self.results}
        missing = [
            i for i in ids if i not in found and i not in self.running and i not in self.pending
        ]
        if missing:
            for row in Result.objects.filter(execution_id__in=missing):
                found[row.execution_id] = row.as_message()
                self._remember_result(row.execution_id, found[row.execution_id])
        return found

    def _logs(self, items, outbox: Outbox) -> None:
        rows = []
        for session, channel, message in items:
            execution_id = message["execution"]
            if execution_id not in session.executions:
                continue
            for entry in message["entries"][:MAX_LOG_ENTRIES]:
                row = _log_row(execution_id, entry)
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

    # --- assignment ------------------------------------------------------------------------

    def _assign(self, now: datetime, outbox: Outbox) -> None:
        """Hand due executions to sessions hosting their target, oldest first."""
        if not self.pending:
            return
        available = [s for s in self.sessions.values() if s.has_capacity()]
        if not available:
            return
        assigned: dict[str, list[str]] = defaultdict(list)
        # ``pending`` holds executions in the order they were queued, oldest first.
        for pending in list(self.pending.values()):
            if not available:
                break
            if pending.execute_after and pending.execute_after > now:
                continue
            if self.workspaces.get(pending.workspace_id, ("", "active"))[1] != "active":
                continue
            eligible = [
                s
                for s in available
                if s.workspace_id == pending.workspace_id and pending.target_key in s.targets
            ]
            if not eligible:
                continue
            session = random.choice(eligible)
            del self.pending[pending.id]
            self._add_running(pending.id, session.id, pending.parent_id)
            # A fresh attempt has made no calls yet: no need to look its calls up later.
            self.known_parents.add(pending.id)
            assigned[session.id].append(pending.id)
            outbox.append((session.channel, _execute(pending)))
            if not session.has_capacity():
                available.remove(session)
        for session_id, ids in assigned.items():
            stored = []
            for execution_id in ids:
                new = self.new_executions.get(execution_id)
                if new is None:
                    stored.append(execution_id)
                else:
                    new.state, new.session_id, new.assigned_at = State.ASSIGNED, session_id, now
            if stored:
                Execution.objects.filter(id__in=stored, state=State.QUEUED).update(
                    state=State.ASSIGNED, session_id=session_id, assigned_at=now
                )


# --- helpers ---------------------------------------------------------------------------------


def _renew_interval() -> float:
    return settings.COFLUX_LEASE_SECONDS / 3


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": code, "message": message}


def _resolved(waiter: str, target: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "resolved", "execution": waiter, "target": target, "result": result}


def _execute(pending: PendingExecution) -> dict[str, Any]:
    return {
        "type": "execute",
        "execution": pending.id,
        "run": pending.run_id,
        "workspace": pending.workspace_name,
        "module": pending.module,
        "target": pending.target,
        "target_type": pending.target_type,
        "arguments": pending.arguments,
        "timeout_ms": pending.timeout_ms,
    }


def _timeout_ms(options: dict[str, Any]) -> int:
    value = options.get("timeout_ms")
    return value if isinstance(value, int) and value > 0 else 0


def _declared_targets(targets: list[Any]) -> set[tuple[str, str, str]] | None:
    declared = set()
    for target in targets:
        if not isinstance(target, dict):
            return None
        module, name, kind = target.get("module"), target.get("name"), target.get("type")
        if not (isinstance(module, str) and isinstance(name, str) and kind in ("workflow", "task")):
            return None
        declared.add((module, name, kind))
    return declared


def _check_submit(message: dict[str, Any], session: SessionState, parent_id: str) -> str | None:
    if parent_id not in session.executions:
        return f"the parent execution {parent_id} is not running on this worker"
    if message["target_type"] not in ("workflow", "task"):
        return f"unknown target type {message['target_type']!r}"
    if not message["module"] or not message["target"]:
        return "module and target must not be empty"
    if not all(isinstance(a, dict) and a.get("type") == "inline" for a in message["arguments"]):
        return "arguments must be values in the wire format"
    if message["target_type"] == "workflow":
        return "calling a workflow from an execution (a spawned run) is not supported yet"
    return None


def _result_row(execution_id: str, result: dict[str, Any], now: datetime) -> Result:
    kind = result["type"]
    if kind == "value":
        return Result(
            execution_id=execution_id, type=kind, value=result.get("value"), created_at=now
        )
    if kind == "error":
        error = result.get("error") if isinstance(result.get("error"), dict) else {}
        frames = error.get("frames")
        retryable = error.get("retryable")
        return Result(
            execution_id=execution_id,
            type=kind,
            error_type=str(error.get("type") or "builtins.Exception")[:255],
            error_message=str(error.get("message") or ""),
            error_frames=frames if isinstance(frames, list) else [],
            retryable=retryable if isinstance(retryable, bool) else None,
            created_at=now,
        )
    return Result(execution_id=execution_id, type=kind, created_at=now)


def _log_row(execution_id: str, entry: Any) -> LogMessage | None:
    if not (isinstance(entry, list) and len(entry) == 4):
        return None
    timestamp, level, template, values = entry
    if not (
        isinstance(timestamp, int | float)
        and isinstance(level, int)
        and isinstance(template, str)
        and isinstance(values, dict)
    ):
        return None
    return LogMessage(
        execution_id=execution_id,
        timestamp=datetime.fromtimestamp(timestamp / 1000, tz=UTC),
        level=level,
        template=template,
        values=values,
    )
