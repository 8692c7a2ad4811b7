"""Messages between the worker's connection process and an executor process.

They travel over a Unix socket pair, each a pickled dict preceded by its length (4 bytes,
big-endian). Both ends are processes of the same worker, so unpickling is safe here; the
server never sees these bytes.

The executor's end blocks (``BlockingPipe``). The worker's end never does: it serves every
executor from one event loop, so it decodes what a non-blocking read returned
(``Decoder``) and buffers what a busy executor cannot take yet (see ``coflux._pool``).
"""

from __future__ import annotations

import collections
import pickle
import select
import socket
import struct
import threading
from typing import Any

_LENGTH = struct.Struct("!I")


def encode(message: dict[str, Any]) -> bytes:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


class Decoder:
    """Turns a stream of bytes, received in pieces of any size, back into messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        messages = []
        start = 0
        while len(self._buffer) - start >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(self._buffer, start)
            end = start + _LENGTH.size + size
            if end > len(self._buffer):
                break
            messages.append(pickle.loads(self._buffer[start + _LENGTH.size : end]))
            start = end
        del self._buffer[:start]
        return messages


_READ_SIZE = 1 << 16


class BlockingPipe:
    """The executor's end: ``send`` from any thread, ``recv`` (and ``poll``) from one."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        self._socket = sock
        self._lock = threading.Lock()
        self._decoder = Decoder()
        self._received: collections.deque[dict[str, Any]] = collections.deque()

    def send(self, *messages: dict[str, Any]) -> None:
        """Send messages in one write."""
        data = b"".join(encode(message) for message in messages)
        with self._lock:
            self._socket.sendall(data)

    def recv(self) -> dict[str, Any]:
        """The next message; ``EOFError`` once the other end has closed.

        Reads whatever has arrived, so several messages cost one system call.
        """
        while not self._received:
            data = self._socket.recv(_READ_SIZE)
            if not data:
                raise EOFError("the other end of the pipe closed")
            self._received.extend(self._decoder.feed(data))
        return self._received.popleft()

    def poll(self, timeout: float | None) -> bool:
        """Whether ``recv`` has something to return (or to wait for) within ``timeout``."""
        if self._received:
            return True
        return bool(select.select([self._socket], [], [], timeout)[0])

    def close(self) -> None:
        self._socket.close()
