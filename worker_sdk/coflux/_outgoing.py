"""An execution's messages to the worker, several to a write when they come in quick succession.

Like Nagle's algorithm for TCP: a ``submit`` goes out at once unless earlier ones are still
unanswered; then it is held until a reply arrives (the reader thread calls ``answered``), until
the execution is about to block for a reply (``flush``) or until its result is sent. A ``wait``
that asks for no reply only records a dependency, so it is held likewise. Every other message
goes out at once, after whatever was held, so the order of messages never changes.

A loop submitting a thousand calls so costs a few writes rather than a thousand, and the worker
passes them on to the server in as few frames as possible.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol


class Pipe(Protocol):
    def send(self, *messages: dict[str, Any]) -> None:
        """Write messages, all at once."""


class Outgoing:
    def __init__(self, pipe: Pipe) -> None:
        self._pipe = pipe
        self._lock = threading.Lock()
        self._held: list[dict[str, Any]] = []
        self._unanswered = 0

    def send(self, message: dict[str, Any]) -> None:
        """Send, or hold, a message; safe to call from any thread."""
        kind = message["type"]
        with self._lock:
            hold = (kind == "submit" and self._unanswered > 0) or (
                kind == "wait" and not message["reply"]
            )
            if kind == "submit":
                self._unanswered += 1
            self._held.append(message)
            if not hold:
                self._write()

    def answered(self) -> None:
        """A submit was answered (``submitted``, or an error): send what was held for it."""
        with self._lock:
            self._unanswered = max(0, self._unanswered - 1)
            self._write()

    def flush(self, *messages: dict[str, Any]) -> None:
        """Send what was held, then ``messages``, in one write."""
        with self._lock:
            self._held.extend(messages)
            self._write()

    def _write(self) -> None:
        # Under the lock, so that messages leave in the order they were sent.
        if self._held:
            held, self._held = self._held, []
            self._pipe.send(*held)
