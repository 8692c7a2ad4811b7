"""The worker websocket: decode, check, and hand each message to the project's orchestrator.

This is the protocol boundary: ``protocol.messages_of`` and ``protocol.validate`` decide, once,
whether a message is valid. An invalid one is answered with an ``error`` to its sender alone
and never reaches the orchestrator, so no message can fail a tick.

It is also a door (``projects.authentication``): the handshake's ``Authorization: Bearer``
header names the principal, and a ``hello`` is let through only into a workspace where that
principal may operate. A worker session's token may only resume its own session; a service
token may create sessions in the workspaces it covers, and when it is revoked the connection
is closed. A page of another site may not open the socket (``Origin``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from coflux_wire import protocol
from projects import session_tokens
from projects.actions import Action
from projects.authentication import authenticate, bearer_token
from projects.errors import Code, DomainError
from projects.models import Project
from projects.permissions import check
from projects.principals import Kind, Principal
from projects.tokens import revocation_group
from runs.orchestration import bus
from runs.orchestration.runner import ensure_runner

logger = logging.getLogger("coflux.worker")

CLOSE_UNAUTHORIZED = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_PROJECT_NOT_FOUND = 4004
CLOSE_VERSION_MISMATCH = 4009
_MAX_REASON = 120
_MAX_ECHOED = 200
"""Longest ``ref`` or ``execution`` of an invalid message that its error reply repeats."""


@database_sync_to_async
def _project_id(name: str) -> int | None:
    return Project.objects.filter(name=name).values_list("id", flat=True).first()


def origin_allowed(headers: dict[bytes, bytes], allowed: list[str]) -> bool:
    """Whether a handshake's ``Origin`` (sent by browsers, not by workers) is the server's own
    host or one of ``allowed`` (``COFLUX_ALLOW_ORIGINS``)."""
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin:
        return True
    host = headers.get(b"host", b"").decode("latin-1")
    return urlsplit(origin).netloc == host or origin.rstrip("/") in allowed


@database_sync_to_async
def _principal(authorization: str | None, client: str) -> Principal:
    return authenticate(bearer_token(authorization), client=client)


@database_sync_to_async
def _check(principal: Principal, project_id: int, workspace: str | None) -> None:
    check(principal, Action.OPERATE, workspace, project_id=project_id)


class WorkerConsumer(AsyncWebsocketConsumer):
    project_id: int | None = None
    principal: Principal | None = None
    refused = False
    """Its credentials were refused: what it sends is ignored until the socket closes."""
    session_id: str | None = None
    session_token: str | None = None
    """What re-announcing the worker takes to resume its session (see ``_announce``)."""
    hello: dict[str, Any] | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler, a thread hop per
        # frame; these handlers only touch the database through database_sync_to_async, which
        # does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        name = self.scope["url_route"]["kwargs"]["project"]
        headers = dict(self.scope.get("headers") or [])
        await self.accept()
        if not origin_allowed(headers, settings.COFLUX_ALLOW_ORIGINS):
            error = DomainError("Websockets from other sites are refused.", code=Code.FORBIDDEN)
            await self._refuse_access(error)
            return
        authorization = headers.get(b"authorization")
        client = (self.scope.get("client") or [""])[0] or ""
        try:
            self.principal = await _principal(
                authorization.decode("latin-1") if authorization is not None else None, client
            )
            project_id = await _project_id(name)
            if project_id is not None:
                await _check(self.principal, project_id, None)
        except DomainError as error:
            await self._refuse_access(error)
            return
        if project_id is None:
            await self._send_error("project_not_found", f"no project named {name!r}")
            await self.close(code=CLOSE_PROJECT_NOT_FOUND)
            return
        self.project_id = project_id
        if self.principal.token_id is not None:
            await self.channel_layer.group_add(
                revocation_group(self.principal.token_id), self.channel_name
            )
        bus.register_consumer(self.channel_name, self)
        ensure_runner(self.project_id)

    async def _refuse_access(self, error: DomainError) -> None:
        """Tell the worker why (``unauthorized`` or ``forbidden``), then close."""
        self.refused = True
        await self._send_error(error.code, error.message)
        unauthorized = error.code == Code.UNAUTHORIZED
        # The reason repeats the message for a worker that reads the close rather than the
        # error (a close frame carries at most 123 bytes).
        reason = error.message.encode()[:_MAX_REASON].decode("utf-8", "ignore")
        await self.close(
            code=CLOSE_UNAUTHORIZED if unauthorized else CLOSE_FORBIDDEN, reason=reason
        )

    async def auth_revoked(self, event: dict[str, Any]) -> None:
        """The token this connection was made with was revoked: close it now."""
        await self._refuse_access(DomainError("The token was revoked.", code=Code.UNAUTHORIZED))

    async def disconnect(self, code: int) -> None:
        bus.unregister_consumer(self.channel_name)
        if self.principal is not None and self.principal.token_id is not None:
            await self.channel_layer.group_discard(
                revocation_group(self.principal.token_id), self.channel_name
            )
        if self.project_id is not None and self.session_id is not None:
            await bus.to_orchestrator(
                self.project_id,
                {"kind": "disconnect", "session": self.session_id, "channel": self.channel_name},
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.project_id is None or self.refused:
            return
        try:
            items = protocol.messages_of(text_data or bytes_data or "")
        except protocol.ProtocolError as exc:
            await self._refuse(exc)
            return
        # A frame's messages go to the orchestrator together, in order: anything else done on
        # the way (a hello, an error) first sends those before it.
        pending: list[dict[str, Any]] = []
        for item in items:
            try:
                message = protocol.validate(item, protocol.WORKER_MESSAGES)
            except protocol.ProtocolError as exc:
                await self._forward(pending)
                await self._refuse(exc, item)
                continue
            if message["type"] == "hello":
                await self._forward(pending)
                await self._hello(message)
            elif self.session_id is None:
                await self._forward(pending)
                await self._send_error("not_ready", "send hello and wait for welcome first")
            else:
                pending.append(
                    {
                        "kind": "message",
                        "session": self.session_id,
                        "channel": self.channel_name,
                        "message": message,
                    }
                )
        await self._forward(pending)

    async def _forward(self, envelopes: list[dict[str, Any]]) -> None:
        """Send the envelopes gathered so far to the orchestrator, and forget them."""
        if self.project_id is not None and envelopes:
            await bus.to_orchestrator(self.project_id, *envelopes)
            envelopes.clear()

    async def _refuse(self, exc: protocol.ProtocolError, item: Any = None) -> None:
        """Answer an invalid message, naming the call (``ref``) or the execution it was about,
        so that the worker can tell the execution instead of waiting for a reply."""
        logger.warning("invalid message from %s: %s", self.session_id or "a worker", exc)
        about: dict[str, str] = {}
        if isinstance(item, dict):
            about = {
                field: item[field]
                for field in ("ref", "execution")
                if isinstance(item.get(field), str) and len(item[field]) <= _MAX_ECHOED
            }
        await self._send_error(exc.code, str(exc), **about)

    async def _hello(self, hello: dict[str, Any]) -> None:
        if hello["protocol"] != protocol.VERSION:
            await self._send_error(
                "version_mismatch",
                f"the server speaks protocol {protocol.VERSION}, not {hello['protocol']}",
            )
            await self.close(code=CLOSE_VERSION_MISMATCH)
            return
        try:
            await self._admit(hello)
        except DomainError as error:
            await self._refuse_access(error)
            return
        self.hello = hello
        await self._announce()

    async def _admit(self, hello: dict[str, Any]) -> None:
        """Refuse a hello into a workspace the principal may not operate in, and one from a
        worker session's token that names another session (or none)."""
        assert self.principal is not None and self.project_id is not None
        await _check(self.principal, self.project_id, hello["workspace"])
        if self.principal.kind == Kind.SESSION:
            session_id, _ = session_tokens.split(hello["session"] or "")
            if session_id != self.principal.session_id:
                raise DomainError(
                    f"{self.principal.name} may only resume its own session.",
                    code=Code.FORBIDDEN,
                    details={"workspace": hello["workspace"], "grant": str(Action.OPERATE)},
                )

    async def _announce(self) -> None:
        assert self.project_id is not None and self.hello is not None
        hello = {**self.hello, "session": self.session_token or self.hello["session"]}
        await bus.to_orchestrator(
            self.project_id, {"kind": "connect", "channel": self.channel_name, "hello": hello}
        )

    def hello_token(self) -> str | None:
        """The session token the worker said hello with, if it resumed a session."""
        return self.hello["session"] if self.hello is not None else None

    async def deliver(self, messages: list[dict[str, Any]]) -> None:
        """Send messages, together in as few frames as fit; a welcome goes in a frame of its
        own, since the worker reads it before anything else."""
        outgoing: list[dict[str, Any]] = []
        for message in messages:
            if message["type"] == "orchestrator.restarted":
                if self.hello is not None:
                    await self._announce()
            elif message["type"] == "welcome":
                await self._send_frames(outgoing)
                outgoing = []
                self.session_id = message["session"]
                self.session_token = message.get("token") or self.hello_token()
                await self.send(text_data=protocol.encode(message))
            else:
                outgoing.append(message)
        await self._send_frames(outgoing)

    async def _send_frames(self, messages: list[dict[str, Any]]) -> None:
        for frame, _ in protocol.encode_frames(messages):
            await self.send(text_data=frame)

    async def worker_send(self, event: dict[str, Any]) -> None:
        """Messages from an orchestrator in another process, over the channel layer."""
        await self.deliver(event["messages"])

    async def _send_error(self, code: str, message: str, **about: str) -> None:
        error = {"type": "error", "error": code, "message": message, **about}
        await self.send(text_data=protocol.encode(error))
