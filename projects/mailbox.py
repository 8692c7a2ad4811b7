"""A project's orchestrator's mailbox: how the rest of the server tells it something.

The orchestrator of project ``p`` reads the channel-layer channel ``orchestrator.<p>`` (it may
live in another server process). Two kinds of mail arrive from outside it:

- a wake: runs were queued or workspaces changed in the database; it should look again;
- a command: cancel, re-run, archive and the like change what the orchestrator holds in memory,
  so they are not written to the database by the caller. The caller sends a command envelope
  and waits on a channel of its own for the reply, which comes once the tick that applied the
  command has committed::

      {"kind": "command", "command": {"type": "cancel", ...}, "reply_to": <channel>}

  Replies are ``{"type": "orchestrator.reply", "ok": True, ...}`` or ``{"ok": False, "error":
  code, "message": text}``; a refusal is raised as a ``DomainError`` with its code.

It lives in the lowest app so that every app may write to it; the orchestrator itself is in
``runs.orchestration``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from projects.errors import Code, DomainError


def orchestrator_channel(project_id: int) -> str:
    return f"orchestrator.{project_id}"


class Inbox(Protocol):
    """A project's orchestrator running in this process (``runs.orchestration.runner``)."""

    leading: bool
    loop: asyncio.AbstractEventLoop | None

    def put(self, envelope: dict[str, Any]) -> None: ...


_inboxes: dict[int, Inbox] = {}


def register_inbox(project_id: int, inbox: Inbox) -> None:
    _inboxes[project_id] = inbox


def _local(project_id: int) -> Inbox | None:
    """The project's orchestrator if it runs (and leads) in this process."""
    inbox = _inboxes.get(project_id)
    return inbox if inbox is not None and inbox.leading else None


async def post(project_id: int, envelope: dict[str, Any]) -> None:
    """Put an envelope in the project's orchestrator's inbox, wherever it runs: directly when
    it runs in this process, over the channel layer otherwise."""
    await post_many(project_id, [envelope])


async def post_many(project_id: int, envelopes: list[dict[str, Any]]) -> None:
    """``post`` for several envelopes, in order; across processes they travel as one message
    of the channel layer (one Redis round trip rather than one each)."""
    if not envelopes:
        return
    inbox = _local(project_id)
    if inbox is not None:
        for envelope in envelopes:
            inbox.put(envelope)
        return
    await get_channel_layer().send(
        orchestrator_channel(project_id), {"type": "envelopes", "envelopes": envelopes}
    )


def post_from_thread(project_id: int, envelope: dict[str, Any]) -> None:
    """``post`` for sync code: a local orchestrator gets the envelope without waiting."""
    inbox = _local(project_id)
    if inbox is not None and inbox.loop is not None:
        inbox.loop.call_soon_threadsafe(inbox.put, envelope)
        return
    async_to_sync(post)(project_id, envelope)


def wake_orchestrator(project_id: int, executions: Sequence[str] = ()) -> None:
    """Call after the transaction that changed something has committed; ``executions`` are
    the executions it queued (without them, the orchestrator looks for what changed)."""
    post_from_thread(project_id, {"kind": "wake", "executions": list(executions)})


def wake_after_commit(project_id: int, executions: Sequence[str] = ()) -> None:
    """Wake the orchestrator once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(wake_orchestrator, project_id, executions))


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
    await post(project_id, {"kind": "command", "command": command, "reply_to": reply_to})
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
