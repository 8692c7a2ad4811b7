"""Telling a project's orchestrator that something changed outside it: runs queued by the API,
workspaces created, renamed, paused or resumed."""

from __future__ import annotations

from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from runs.orchestration.bus import orchestrator_channel


def wake_orchestrator(project_id: int) -> None:
    """Call after the transaction that queued the work has committed."""
    layer = get_channel_layer()
    async_to_sync(layer.send)(orchestrator_channel(project_id), {"type": "wake"})


def wake_after_commit(project_id: int) -> None:
    """Wake the orchestrator once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(wake_orchestrator, project_id))
