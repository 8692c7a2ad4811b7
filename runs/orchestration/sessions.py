"""Worker sessions: hello, disconnects, heartbeats, blocked executions, expiry (SPEC §3.10)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from coflux_wire import protocol
from projects import session_tokens
from projects.errors import Code
from projects.models import WorkerSession
from runs.models import Execution
from runs.orchestration import outcomes, records
from runs.orchestration.envelopes import Connect, Incoming
from runs.orchestration.memory import Memory, SessionState, WorkspaceState
from runs.orchestration.tick import Tick
from runs.states import State, sources
from workspaces.models import Workspace


def connect(memory: Memory, tick: Tick, envelope: Connect) -> None:
    """A worker said hello: create its session, or resume the one its token names, and welcome
    it; a new session's token travels in the welcome, once."""
    channel, hello = envelope["channel"], envelope["hello"]
    targets = records.declared_targets(hello["targets"]) or set()
    token = None
    session = None
    if hello["session"]:
        session_id, secret = session_tokens.split(hello["session"])
        session = memory.sessions.get(session_id)
        if session is None or not session_tokens.matches(secret, session.secret_hash):
            tick.send(
                channel,
                records.error(Code.SESSION_INVALID, "no session with that token: start a new one"),
            )
            return
    workspace = _workspace(memory, hello["workspace"])
    if session is not None and session.workspace_id != workspace.id:
        tick.send(
            channel,
            records.error(Code.WORKSPACE_MISMATCH, "the session belongs to another workspace"),
        )
        return
    # Kept whole, parameters included, so that a task's arguments can be named where shown.
    by_key = {(t["module"], t["name"], t["type"]): t for t in hello["targets"]}
    declared = [by_key[key] for key in sorted(by_key)]
    fields = {
        "targets": declared,
        "concurrency": hello["concurrency"],
        "provides": hello["provides"],
        "accepts": hello["accepts"],
        "connected": True,
        "channel_name": channel,
        "draining": False,
        "last_seen_at": tick.now,
        "disconnected_at": None,
    }
    if session is None:
        row, token = WorkerSession.objects.create_with_token(
            project_id=memory.project_id, workspace_id=workspace.id, **fields
        )
        session = SessionState(
            id=row.id,
            workspace_id=workspace.id,
            targets=targets,
            concurrency=hello["concurrency"],
            provides=hello["provides"],
            channel=channel,
            secret_hash=row.secret_hash,
        )
        memory.sessions[row.id] = session
    else:
        WorkerSession.objects.filter(id=session.id).update(**fields)
        session.targets = targets
        session.concurrency = hello["concurrency"]
        session.provides = hello["provides"]
        session.channel = channel
        session.draining = False
        session.disconnected_at = None
        session.heartbeat_at = None
        session.blocked.clear()
    session.accepts = hello["accepts"]
    session.max_processes = hello.get("max_processes")
    tick.sessions_changed.add(workspace.id)
    welcome: protocol.Welcome = {
        "type": "welcome",
        "protocol": protocol.VERSION,
        "session": session.id,
        "executions": sorted(session.executions),
    }
    if token is not None:
        welcome["token"] = token
    tick.send(channel, dict(welcome))


def _workspace(memory: Memory, name: str) -> Workspace:
    """The live workspace of that name, created if there is none (SPEC §1)."""
    workspace = (
        Workspace.objects.filter(project_id=memory.project_id, name__iexact=name)
        .exclude(state=Workspace.State.ARCHIVED)
        .first()
    )
    if workspace is None:
        workspace = Workspace.objects.create(project_id=memory.project_id, name=name.lower())
    memory.workspaces[workspace.id] = WorkspaceState(
        workspace.name, workspace.state, workspace.base_id
    )
    return workspace


def disconnect(memory: Memory, tick: Tick, session_id: str, channel: str) -> None:
    session = memory.sessions.get(session_id)
    if session is None or session.channel != channel:
        return
    session.channel = None
    session.disconnected_at = tick.now
    tick.sessions_changed.add(session.workspace_id)
    WorkerSession.objects.filter(id=session_id).update(
        connected=False, disconnected_at=tick.now, last_seen_at=tick.now
    )


def draining(memory: Memory, tick: Tick, items: list[Incoming[protocol.Draining]]) -> None:
    for item in items:
        item.session.draining = True
        tick.sessions_changed.add(item.session.workspace_id)
    if items:
        WorkerSession.objects.filter(id__in=[item.session.id for item in items]).update(
            draining=True
        )


def waiting(memory: Memory, tick: Tick, items: list[Incoming[protocol.Waiting]]) -> None:
    """An execution blocked on results stops counting against its session's concurrency."""
    for item in items:
        execution_id = item.message["execution"]
        if execution_id not in item.session.executions:
            continue
        if item.message["waiting"]:
            item.session.blocked.add(execution_id)
        else:
            item.session.blocked.discard(execution_id)


def declined(memory: Memory, tick: Tick, items: list[Incoming[protocol.Declined]]) -> None:
    """Executions a worker never received go back to the queue, same attempt: the server died
    between assigning one and sending it, so it has not started anywhere."""
    ids = []
    for item in items:
        spec = memory.running.get(item.message["execution"])
        if spec is None or spec.session_id != item.session.id:
            continue
        del memory.running[spec.id]
        item.session.executions.discard(spec.id)
        item.session.blocked.discard(spec.id)
        spec.session_id, spec.assigned_at = None, None
        memory.queue(spec)
        tick.touch(spec.id, spec.workspace_id)
        ids.append(spec.id)
    tick.writes.update(
        Execution,
        ids,
        {"state": State.QUEUED, "session": None, "assigned_at": None},
        state=list(sources(State.QUEUED)),
    )


def heartbeats(memory: Memory, tick: Tick, items: list[Incoming[protocol.Heartbeat]]) -> None:
    """Executions a worker no longer runs are abandoned; ones it should not run, aborted.

    Only executions assigned before the session's previous heartbeat count as missing: the
    worker may not have received a newer one when it wrote this heartbeat.
    """
    lost: list[str] = []
    for item in items:
        session = item.session
        listed = set(item.message["executions"])
        if session.heartbeat_at is not None:
            for execution_id in session.executions - listed:
                spec = memory.running[execution_id]
                if spec.assigned_at is None or spec.assigned_at < session.heartbeat_at:
                    lost.append(execution_id)
        for execution_id in sorted(listed - session.executions):
            tick.send(item.channel, {"type": "abort", "execution": execution_id})
        session.heartbeat_at = tick.now
    outcomes.finish(memory, tick, [(e, {"type": "abandoned"}) for e in lost], ack=False)
    if items:
        WorkerSession.objects.filter(id__in={item.session.id for item in items}).update(
            last_seen_at=tick.now
        )


def expire(memory: Memory, tick: Tick) -> None:
    """Sessions gone longer than the grace period lose their executions (abandoned)."""
    grace = timedelta(seconds=settings.COFLUX_SESSION_GRACE)
    expired = [
        s
        for s in memory.sessions.values()
        if s.channel is None and s.disconnected_at and tick.now - s.disconnected_at >= grace
    ]
    if expired:
        end(memory, tick, expired)


def end(memory: Memory, tick: Tick, ended: list[SessionState]) -> None:
    """Forget sessions for good; what they were running is abandoned."""
    abandoned: list[outcomes.Outcome] = []
    for session in ended:
        del memory.sessions[session.id]
        tick.sessions_changed.add(session.workspace_id)
        abandoned.extend((e, {"type": "abandoned"}) for e in sorted(session.executions))
    WorkerSession.objects.filter(id__in=[s.id for s in ended]).update(
        expired_at=tick.now, connected=False
    )
    outcomes.finish(memory, tick, abandoned, ack=False)


def next_expiry(memory: Memory) -> list:
    """When disconnected sessions' grace periods end."""
    grace = timedelta(seconds=settings.COFLUX_SESSION_GRACE)
    return [s.disconnected_at + grace for s in memory.sessions.values() if s.disconnected_at]
