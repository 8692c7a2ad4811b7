"""Telling a project's orchestrator that work was queued outside it (by the REST API)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from runs.orchestration.bus import orchestrator_channel


def wake_orchestrator(project_id: int) -> None:
    """Call after the transaction that queued the work has committed."""
    layer = get_channel_layer()
    async_to_sync(layer.send)(orchestrator_channel(project_id), {"type": "wake"})
