"""The worker sessions of a workspace, as ``coflux sessions list`` shows them."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from projects.models import WorkerSession
from runs.states import State
from workspaces.models import Workspace


def workspace_sessions(workspace: Workspace) -> list[dict[str, Any]]:
    """Live sessions (not expired), oldest first, each with how many executions it runs."""
    sessions = (
        WorkerSession.objects.filter(workspace=workspace, expired_at=None)
        .annotate(load=Count("executions", filter=Q(executions__state=State.ASSIGNED)))
        .order_by("created_at", "id")
    )
    return [
        {
            "id": session.id,
            "state": _state(session),
            "load": session.load,
            "concurrency": session.concurrency,
            "provides": session.provides,
            "accepts": session.accepts,
            "targets": len(session.targets),
            "created_at": session.created_at.isoformat(),
            "last_seen_at": session.last_seen_at.isoformat(),
        }
        for session in sessions
    ]


def _state(session: WorkerSession) -> str:
    if not session.connected:
        return "disconnected"
    return "draining" if session.draining else "connected"
