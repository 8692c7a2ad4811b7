"""Writing the worker's messages to the websocket in batches.

What is waiting in the outbox leaves together, packed into as few frames as fit (a frame holds
an array of messages; see ``protocol.encode_frames``): one write, and on the server one wake-up,
for many messages. ``websockets`` waits for the socket's buffer to drain after each ``send``, so
when a batch needs several frames all but the last are written without waiting
(``broadcast``, the library's way of writing without flow control), the last one with
``send``; and where TCP can be corked (Linux), those frames leave in as few packets as fit.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import broadcast
from websockets.protocol import State

from coflux_wire import protocol

# Named for what it logs, not for the private module it is in.
log = logging.getLogger("coflux.sending")


class Sender:
    def __init__(self, websocket: ClientConnection) -> None:
        self._websocket = websocket
        self._socket = _tcp_socket(websocket)

    async def send_all(
        self,
        outbox: collections.deque[dict[str, Any]],
        *,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        """Send every message of ``outbox``, removing each once it is handed to the socket.

        Messages added meanwhile are sent too, unless ``stop`` says so after a batch. Raises if
        the connection is lost; what was not sent stays in ``outbox``.
        """
        websocket = self._websocket
        while outbox and not (stop is not None and stop()):
            frames = list(protocol.encode_frames(list(outbox)))
            if _replace_too_large(outbox, frames):
                continue
            last = len(frames) - 1
            with self._corked(last > 0):
                for index, (frame, count) in enumerate(frames):
                    if index < last and websocket.state is State.OPEN:
                        _write_now(websocket, frame)
                    else:
                        await websocket.send(frame)
                    _drop(outbox, count)

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


def _replace_too_large(
    outbox: collections.deque[dict[str, Any]], frames: list[tuple[str, int]]
) -> bool:
    """Replace (or drop) the first message too large for a frame of its own; whether there
    was one. The server would refuse it, and close the connection, every time it was sent."""
    position = 0
    for frame, count in frames:
        if len(frame) > protocol.MAX_MESSAGE_BYTES:
            replacement = _instead_of_too_large(outbox[position], len(frame))
            if replacement is None:
                del outbox[position]
            else:
                outbox[position] = replacement
            return True
        position += count
    return False


def _instead_of_too_large(message: dict[str, Any], size: int) -> dict[str, Any] | None:
    """What to send instead of a message too large for a frame: for a result, an error saying
    so; for anything else, nothing (the loss is logged)."""
    detail = f"a {message['type']} message of {size} bytes is larger than a frame may be"
    log.error("not sending %s", detail)
    if message["type"] != "result":
        return None
    error = {"type": "coflux.MessageTooLarge", "message": detail, "frames": [], "retryable": False}
    return {**message, "result": {"type": "error", "error": error}}


def _drop(outbox: collections.deque[dict[str, Any]], count: int) -> None:
    for _ in range(count):
        outbox.popleft()


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
