"""Asking a project's orchestrator to do something and waiting for its answer.

Cancelling, re-running and pausing change what the orchestrator holds in memory, so the API
does not write them to the database itself: it sends a command envelope over the channel layer
(the orchestrator may live in another server process) and waits on a channel of its own for the
reply, which comes once the tick that applied the command has committed::

    {"kind": "command", "command": {"type": "cancel", ...}, "reply_to": <channel>}

Replies are ``{"type": "orchestrator.reply", "ok": True, ...}`` or ``{"ok": False, "error":
code, "message": text}`` (see ``envelopes``); a refusal is raised as a ``DomainError`` with its
code.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from projects.errors import Code, DomainError
from runs.orchestration.bus import orchestrator_channel

REPLY_TIMEOUT_SECONDS = 15.0


class OrchestratorUnavailable(DomainError):
    code = Code.ORCHESTRATOR_UNAVAILABLE


def call_orchestrator(
    project_id: int, command: dict[str, Any], timeout: float = REPLY_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Send ``command`` to the project's orchestrator and return its reply; for sync code."""
    return async_to_sync(acall_orchestrator)(project_id, command, timeout)


async def acall_orchestrator(
    project_id: int, command: dict[str, Any], timeout: float = REPLY_TIMEOUT_SECONDS
) -> dict[str, Any]:
    layer = get_channel_layer()
    reply_to = await layer.new_channel("orchestrator-reply.")
    envelope = {"kind": "command", "command": command, "reply_to": reply_to}
    await layer.send(orchestrator_channel(project_id), {"type": "envelope", "envelope": envelope})
    try:
        reply = await asyncio.wait_for(layer.receive(reply_to), timeout)
    except TimeoutError:
        raise OrchestratorUnavailable(
            "The project's orchestrator did not answer; is the server running?"
        ) from None
    if not reply.get("ok"):
        try:
            code = Code(reply.get("error"))
        except ValueError:
            code = Code.INVALID_COMMAND
        raise DomainError(reply.get("message") or "The command was refused.", code=code)
    return reply
