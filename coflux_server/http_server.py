"""The server ``manage.py serve`` runs: Daphne, with request bodies bounded and read lazily, and
a failure to listen reported instead of ignored.

Daphne (on Twisted) receives a request's whole body before the application sees the request:
Twisted writes it to a temporary file (kept in memory below 100 kB), then Daphne hands it to
the application as 8 kB messages put on the application's queue all at once, so that a 200 MB
upload held 200 MB of memory. Here:

- A body larger than ``body_limit`` allows (``COFLUX_MAX_BLOB_BYTES`` for a blob,
  ``DATA_UPLOAD_MAX_MEMORY_SIZE`` for anything else) is refused with 413 as soon as its headers
  say so, or as soon as it grows past the limit (a chunked body). The response goes out at
  once; the rest of the body is read and dropped for at most ``LINGER_SECONDS`` so that a
  client still sending it then reads the response rather than a reset connection; then the
  connection closes.
- The application's queue does not hold the body: it reads it from Twisted's file, ``CHUNK``
  bytes at a time, as the application asks for it.

This leans on Daphne's and Twisted's internals (pinned in pyproject.toml):
``Server.create_application``, ``WebRequest``, ``Request.gotLength``, ``handleContentChunk``
and the request target ``HTTPChannel`` keeps while it reads a request.
"""

from __future__ import annotations

# Daphne's server module installs Twisted's asyncio reactor, which must come before anything
# imports Twisted's default one.
from daphne.server import Server as DaphneServer

# isort: split
import asyncio
import io
import json
from functools import partial
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from daphne.http_protocol import HTTPFactory, WebRequest
from django.conf import settings
from twisted.internet import reactor
from twisted.python.failure import Failure

from projects.errors import Code, DomainError

CHUNK = 1024 * 1024
"""Bytes of body per message to the application."""
LINGER_SECONDS = 10.0
"""How long the rest of a refused body is read and dropped before the connection closes."""


def body_limit(path: bytes) -> int:
    """The most bytes a request body to ``path`` may hold."""
    if unquote_to_bytes(path).startswith(b"/blobs/"):
        return settings.COFLUX_MAX_BLOB_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class Server(DaphneServer):
    """Daphne's server with bounded, lazily read bodies; ``listen_failure`` says why it could
    not listen, if it could not (``run`` then returns at once)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listen_failure: str | None = None

    # Daphne's ``run`` makes its HTTP factory itself; ours makes requests of ``BoundedRequest``.
    @property
    def http_factory(self) -> HTTPFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._http_factory = _HTTPFactory(self)

    def listen_error(self, failure: Failure) -> None:
        error = getattr(failure.value, "socketError", None) or failure.value
        self.listen_failure = str(error)
        self.stop()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> asyncio.Queue | None:
        """Daphne's, with a ``LazyBodyQueue`` for HTTP requests."""
        if scope["type"] != "http":
            return super().create_application(protocol, scope)
        assert "application_instance" not in self.connections[protocol]
        queue = LazyBodyQueue(protocol)
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(
            scope=scope, receive=queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            instance, loop=asyncio.get_event_loop()
        )
        return queue


class _HTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedRequest
        return protocol


class BoundedRequest(WebRequest):
    """Daphne's request, refusing a body beyond its ``body_limit``."""

    _limit = 0
    _received = 0
    _refused = False

    def gotLength(self, length: int | None) -> None:
        # The request line has been read, the body not yet: the channel has the target.
        self._limit = body_limit(urlsplit(getattr(self.channel, "_path", b"")).path)
        if length is not None and length > self._limit:
            self._refuse()
        else:
            super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._received > self._limit:
            self._refuse()
            return
        super().handleContentChunk(data)

    def process(self) -> Any:
        if self._refused:
            # The response went out when the body was refused; what was left of it has come.
            self.channel.loseConnection()
            return None
        return super().process()

    def _refuse(self) -> None:
        self._refused = True
        if self.content is not None:
            self.content.close()
        self.content = io.BytesIO()
        # A client waiting for "100 Continue" gets the refusal instead, and sends no body.
        self.requestHeaders.removeHeader(b"Expect")
        limit = self._limit
        error = DomainError(
            f"A request body may hold at most {limit} bytes.",
            code=Code.REQUEST_TOO_LARGE,
            details={"limit": limit},
        )
        body = json.dumps(error.as_json()).encode()
        head = (
            "HTTP/1.1 413 Content Too Large\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        self.channel.transport.write(head + body)
        reactor.callLater(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        if self.channel is not None and self.channel.transport is not None:
            self.channel.transport.abortConnection()


class _Body:
    """Marks the end of the body's messages: the body is all in the request's file."""


class LazyBodyQueue(asyncio.Queue):
    """The application's queue of an HTTP request, reading the body from the request's file
    when the application asks for it.

    Daphne puts the whole body as ``http.request`` messages at once; their bytes are dropped
    here, only their count is kept, and the application gets the same bytes read back from the
    file in messages of up to ``CHUNK`` bytes.
    """

    def __init__(self, request: WebRequest) -> None:
        super().__init__()
        self._request = request
        self._size = 0
        self._offset = 0
        self._reading = False

    def put_nowait(self, message: Any) -> None:
        if isinstance(message, dict) and message.get("type") == "http.request":
            self._size += len(message.get("body", b""))
            if not message.get("more_body", False):
                super().put_nowait(_Body)
            return
        super().put_nowait(message)

    async def get(self) -> Any:
        if not self._reading:
            message = await super().get()
            if message is not _Body:
                return message
            self._reading = True
        return self._next_chunk()

    def _next_chunk(self) -> dict[str, Any]:
        try:
            content = self._request.content
            content.seek(self._offset)
            chunk = content.read(min(CHUNK, self._size - self._offset))
        except (AttributeError, ValueError, OSError):
            # The file is closed or gone: the client went away.
            self._reading = False
            return {"type": "http.disconnect"}
        self._offset += len(chunk)
        more = bool(chunk) and self._offset < self._size
        self._reading = more
        return {"type": "http.request", "body": chunk, "more_body": more}
