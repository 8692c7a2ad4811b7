"""The orchestration of one project: a tick applies everything that arrived, in one transaction.

``Orchestrator.tick(envelopes)`` is plain synchronous code: the async shell
(``runs.orchestration.runner``) drains its inbox, calls ``tick`` in a thread, and delivers the
returned messages only after the transaction has committed (ARCHITECTURE musts 1 and 4). What
the orchestrator knows between ticks is its ``Memory``; what a tick decides is its ``Tick``; the
subjects (``sessions``, ``messages``, ``outcomes``, ``dispatch``, ``commands``) are functions
over the two. A tick touches the database a fixed number of times whatever the batch size.

Faults: a tick is all-or-nothing per envelope. When the database fails (a restart, a dropped
connection), ``tick`` raises ``DatabaseUnavailable`` and the runner retries the same envelopes
on a fresh connection once memory has been reloaded. When one envelope fails for any other
reason, memory is reloaded from what has committed, the envelopes are applied one by one, and
the one that fails is answered with an error to its sender alone. Sessions stay connected
through both.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from projects.errors import Code
from runs.orchestration import (
    commands,
    dispatch,
    events,
    inputs,
    lease,
    loading,
    messages,
    pools,
    records,
    sessions,
)
from runs.orchestration.envelopes import Envelope, Incoming, refusal
from runs.orchestration.memory import Memory, remember
from runs.orchestration.tick import Outbox, Tick

logger = logging.getLogger("coflux.orchestrator")


class LeaseLost(Exception):
    """Another process holds the project now; this orchestrator must stop."""


class DatabaseUnavailable(Exception):
    """The database could not be reached or dropped the connection: nothing was applied."""


class Orchestrator:
    def __init__(self, project_id: int, holder: str | None = None) -> None:
        self.project_id = project_id
        self.holder = holder or lease.new_holder_id()
        self.memory = Memory(project_id)
        self.lease_renewed_at: datetime | None = None

    # --- start-up --------------------------------------------------------------------------

    def load(self) -> Outbox:
        """Take the project: rebuild memory from the database.

        Returns notices for the consumers of sessions that were connected, which announce
        their workers again (or, gone, let the grace period run out).
        """
        return self._load(keep_sessions=False)

    def reload(self) -> Outbox:
        """Rebuild memory after a failed tick in this process; connected sessions stay so."""
        return self._load(keep_sessions=True)

    def _load(self, keep_sessions: bool) -> Outbox:
        previous = self.memory.sessions if keep_sessions else {}
        fleet = self.memory.fleet if keep_sessions else None
        self.memory = Memory(self.project_id)
        tick = Tick(timezone.now())
        with _database(), transaction.atomic():
            self._renew_lease(tick.now, force=True)
            loading.load(self.memory, tick, keep=previous)
            pools.load(self.memory, tick, fleet)
            tick.flush()
        return tick.outbox + events.of_tick(self.memory, tick)

    # --- the tick --------------------------------------------------------------------------

    def tick(self, envelopes: list[Envelope]) -> Outbox:
        """Apply a batch in one transaction; if an envelope fails, apply them one by one."""
        try:
            with _database():
                return self._tick(envelopes)
        except (LeaseLost, DatabaseUnavailable):
            raise
        except Exception:
            logger.exception(
                "tick of %d envelopes failed; applying them one by one", len(envelopes)
            )
        return self.tick_one_by_one(envelopes)

    def tick_one_by_one(self, envelopes: list[Envelope], blame_database: bool = False) -> Outbox:
        """Apply each envelope in a tick of its own, refusing the ones that fail.

        With ``blame_database``, an envelope the database keeps refusing although it answers
        (the runner has just reloaded through it) is refused too, rather than retried forever.
        """
        outbox = self.reload()
        for envelope in envelopes:
            try:
                if blame_database:
                    outbox.extend(self._tick([envelope]))
                else:
                    with _database():
                        outbox.extend(self._tick([envelope]))
            except (LeaseLost, DatabaseUnavailable):
                raise
            except Exception as exc:
                logger.exception("refusing an envelope of kind %r", envelope.get("kind"))
                outbox.extend(self.reload())
                outbox.extend(_refused(envelope, exc))
        return outbox

    def _tick(self, envelopes: list[Envelope]) -> Outbox:
        memory = self.memory
        tick = Tick(timezone.now())
        by_type: dict[str, list[Incoming[Any]]] = defaultdict(list)
        command_envelopes = []
        launcher_reports = []
        with transaction.atomic():
            if self._renew_lease(tick.now):
                # As often as the lease is renewed, runs queued lately are looked for, in case
                # the wake of a submission went missing.
                _pick_up(memory, tick, [])
            for envelope in envelopes:
                kind = envelope["kind"]
                if kind == "connect":
                    sessions.connect(memory, tick, envelope)
                elif kind == "disconnect":
                    sessions.disconnect(memory, tick, envelope["session"], envelope["channel"])
                elif kind == "wake":
                    _wake(memory, tick, envelope.get("executions") or [])
                elif kind == "command":
                    command_envelopes.append(envelope)
                elif kind == "launcher":
                    launcher_reports.append(envelope)
                elif kind == "message":
                    session = memory.sessions.get(envelope["session"])
                    if session is None or session.channel != envelope["channel"]:
                        tick.send(
                            envelope["channel"],
                            records.error(Code.SESSION_INVALID, "unknown session"),
                        )
                        continue
                    message = envelope["message"]
                    by_type[message["type"]].append(Incoming(session, envelope["channel"], message))
            # Logs, calls and waits sent before a result belong to the still-running execution.
            finishing = {item.message["execution"] for item in by_type["result"]}
            messages.started(memory, tick, by_type["started"], finishing)
            messages.logs(memory, tick, by_type["log"])
            messages.metrics(memory, tick, by_type["metric"])
            sessions.waiting(memory, tick, by_type["waiting"])
            messages.submits(memory, tick, by_type["submit"])
            inputs.submitted(memory, tick, by_type["submit_input"])
            messages.waits(memory, tick, by_type["wait"])
            messages.cancels(memory, tick, by_type["cancel"])
            messages.results(memory, tick, by_type["result"])
            sessions.declined(memory, tick, by_type["declined"])
            sessions.heartbeats(memory, tick, by_type["heartbeat"])
            sessions.draining(memory, tick, by_type["draining"])
            pools.reports(memory, tick, launcher_reports)
            if command_envelopes:
                # Commands read steps and executions back from the database.
                tick.flush()
            for envelope in command_envelopes:
                answer = commands.apply(memory, tick, envelope["command"])
                tick.outbox.append(records.reply(envelope, answer))
            sessions.expire(memory, tick)
            dispatch.dispatch(memory, tick)
            pools.sweep(memory, tick)
            tick.flush()
        return tick.outbox + events.of_tick(memory, tick)

    def next_deadline(self) -> datetime | None:
        """When the orchestrator must tick even if nothing arrives (expiries, due executions,
        pool workers' polls and idle times, the lease's renewal)."""
        now = timezone.now()
        times = sessions.next_expiry(self.memory) + dispatch.next_due(self.memory, now)
        times += pools.next_deadline(self.memory, now)
        if self.lease_renewed_at is not None:
            times.append(self.lease_renewed_at + timedelta(seconds=_renew_interval()))
        return min(times) if times else None

    # --- leases ----------------------------------------------------------------------------

    def _renew_lease(self, now: datetime, force: bool = False) -> bool:
        """Renew the lease when due; True if it was."""
        due = self.lease_renewed_at is None or force
        if not due and now - self.lease_renewed_at >= timedelta(seconds=_renew_interval()):
            due = True
        if due:
            if not lease.claim(self.project_id, self.holder):
                raise LeaseLost(self.project_id)
            self.lease_renewed_at = now
        return due


def _wake(memory: Memory, tick: Tick, executions: list[str]) -> None:
    """Pick up the executions a submission queued, or, woken without them, what changed
    outside: workspaces, pools, and runs queued lately."""
    if not executions:
        loading.load_workspaces(memory)
        pools.load_pools(memory)
    _pick_up(memory, tick, executions)


def _pick_up(memory: Memory, tick: Tick, executions: list[str]) -> None:
    for execution in loading.queued_outside(memory, tick, executions):
        spec = loading.spec_from_row(memory, execution)
        memory.queue(spec)
        if spec.is_root and spec.attempt == 1:
            # A run queued by a submission is new: this first attempt is its latest.
            remember(memory.root_attempts, spec.run_id, 1)
        tick.touch(spec.id, spec.workspace_id)


def _refused(envelope: Envelope, exc: Exception) -> Outbox:
    """The error telling an envelope's sender it could not be applied."""
    detail = f"the server could not apply this message: {exc}"
    if envelope.get("kind") == "command":
        return [records.reply(envelope, refusal(Code.INTERNAL_ERROR, detail))]
    channel = envelope.get("channel")
    if not channel:
        return []
    message = envelope.get("message") or {}
    error = records.error(Code.INTERNAL_ERROR, detail)
    for key in ("ref", "execution"):
        if isinstance(message.get(key), str):
            error[key] = message[key]
    return [(channel, error)]


class _database:
    """Turns the database's failures to serve (a lost connection, a restart, a lock) into
    ``DatabaseUnavailable``; a refused statement (bad data, a broken constraint) is the
    envelope's fault and stays as it is."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        if isinstance(exc, OperationalError | InterfaceError):
            raise DatabaseUnavailable(str(exc)) from exc
        return False


def _renew_interval() -> float:
    return settings.COFLUX_LEASE_SECONDS / 3
