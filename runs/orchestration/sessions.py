"""Worker sessions in the orchestrator: hello, disconnects, heartbeats, expiry (SPEC §3.10)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from coflux_wire import protocol
from projects.models import WorkerSession
from runs.orchestration import records
from runs.orchestration.records import declared_targets, valid_tags
from runs.orchestration.state import (
    Outbox,
    SessionState,
    WorkspaceState,
)
from workspaces.models import Workspace
from workspaces.names import is_valid_workspace_name


class Sessions:
    """The session-handling part of ``Orchestrator``, over the same state."""

    def _connect(self, channel: str, hello: dict[str, Any], now: datetime, outbox: Outbox) -> None:
        name = hello["workspace"]
        if not is_valid_workspace_name(name):
            outbox.append(
                (channel, records.error("invalid_workspace", f"invalid workspace: {name!r}"))
            )
            return
        targets = declared_targets(hello["targets"])
        if targets is None:
            outbox.append(
                (
                    channel,
                    records.error(
                        "invalid_targets",
                        "targets must be a list of objects with module, name and type",
                    ),
                )
            )
            return
        provides, accepts = hello["provides"], hello["accepts"]
        if not (valid_tags(provides) and valid_tags(accepts)) or hello["concurrency"] < 0:
            outbox.append(
                (channel, records.error("invalid_hello", "bad provides, accepts or concurrency"))
            )
            return
        workspace = self._workspace(name)
        session = self.sessions.get(hello["session"] or "")
        if session is not None and session.workspace_id != workspace.id:
            outbox.append(
                (
                    channel,
                    records.error("workspace_mismatch", "the session belongs to another workspace"),
                )
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
