"""Writing the worker's messages to the websocket in batches.

``websockets`` waits for the socket's buffer to drain after each ``send``; sending a batch one
frame at a time would wait once per frame and make one system call (and, on the server, one
wake-up) per frame. So all frames of a batch but the last are written without waiting
(``broadcast``, the library's way of writing without flow control), the last one with ``send``,
which then waits for the socket if it must; and where TCP can be corked (Linux), the frames of
a batch leave in as few packets as they fit in.
"""

from __future__ import annotations

import collections
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import broadcast
from websockets.protocol import State

from . import protocol


class Sender:
    def __init__(self, websocket: ClientConnection) -> None:
        self._websocket = websocket
        self._socket = _tcp_socket(websocket)

    async def send_all(self, outbox: collections.deque[dict[str, Any]]) -> None:
        """Send every message of ``outbox``, removing each once it is handed to the socket.

        Messages added meanwhile are sent too. Raises if the connection is lost; what was not
        sent stays in ``outbox``.
        """
        websocket = self._websocket
        while outbox:
            with self._corked(len(outbox) > 1):
                while len(outbox) > 1 and websocket.state is State.OPEN:
                    _write_now(websocket, protocol.encode(outbox[0]))
                    outbox.popleft()
                await websocket.send(protocol.encode(outbox[0]))
                outbox.popleft()

    @contextlib.contextmanager
    def _corked(self, cork: bool) -> Iterator[None]:
        if not cork or self._socket is None:
            yield
            return
        self._set_cork(1)
        try:
            yield
        finally:
            self._set_cork(0)

    def _set_cork(self, value: int) -> None:
        assert self._socket is not None
        with contextlib.suppress(OSError):
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, value)


def _write_now(websocket: ClientConnection, text: str) -> None:
    try:
        broadcast([websocket], text, raise_exceptions=True)
    except ExceptionGroup as group:
        raise ConnectionError(f"cannot write to the server: {group.exceptions[0]}") from None


def _tcp_socket(websocket: ClientConnection) -> Any:
    """The connection's TCP socket if it can be corked, else ``None``."""
    if not hasattr(socket, "TCP_CORK"):
        return None
    transport = getattr(websocket, "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return sock
