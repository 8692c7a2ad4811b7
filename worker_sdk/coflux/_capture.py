"""Log entries of an execution: batching, and capture of ``stdout``/``stderr`` per line.

An entry is ``[timestamp_ms, level, template, values]`` (levels: 0 debug, 1 stdout, 2 info,
3 stderr, 4 warning, 5 error). Entries are sent in order, in batches: at most ``flush_interval``
seconds after the first one waits and at once when ``batch_size`` have gathered (``[logs]`` of
``coflux._config``: 0.05 s and 100 by default), so a chatty loop costs a message per batch, not
per line. What is left is sent when the execution ends, before its result, and before each call
the execution makes (``flush``), so that its lines come before those of the executions it calls.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ._config import batching_setting
from ._limits import MAX_LOG_LINE, noting

DEBUG, STDOUT, INFO, STDERR, WARNING, ERROR = range(6)


class LogBuffer:
    """Collects entries and hands them to ``send`` in batches from a background thread."""

    def __init__(
        self,
        send: Callable[[list[list[Any]]], None],
        *,
        batch_size: int | None = None,
        flush_interval: float | None = None,
    ) -> None:
        self._send = send
        defaults = batching_setting("logs")
        self._batch_size = max(1, batch_size or defaults.batch_size)
        self._flush_interval = defaults.flush_interval if flush_interval is None else flush_interval
        self._entries: list[list[Any]] = []
        self._changed = threading.Condition()
        self._sending = threading.Lock()
        """Held while taking entries and sending them, so that batches leave in order."""
        self._closed = False
        # Started with the first entry: most executions log nothing and need no thread.
        self._thread: threading.Thread | None = None

    def add(self, level: int, template: str, values: dict[str, Any]) -> None:
        with self._changed:
            self._entries.append([time.time_ns() // 1_000_000, level, template, values])
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="coflux-logs", daemon=True)
                self._thread.start()
            # The thread sleeps while nothing waits: the first entry starts its clock, so that
            # every entry leaves within ``flush_interval`` however few follow it.
            if len(self._entries) == 1 or len(self._entries) >= self._batch_size:
                self._changed.notify()

    def flush(self) -> None:
        """Send the entries waiting, if any, now."""
        if self._entries:
            self._flush()

    def close(self) -> None:
        """Stop the background thread and send whatever is left."""
        with self._changed:
            self._closed = True
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        self._flush()

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._closed:
                    return
                if not self._entries:
                    self._changed.wait()
                    continue
                self._changed.wait_for(
                    lambda: self._closed or len(self._entries) >= self._batch_size,
                    self._flush_interval,
                )
            self._flush()

    def _flush(self) -> None:
        with self._sending:
            with self._changed:
                entries, self._entries = self._entries, []
            for start in range(0, len(entries), self._batch_size):
                self._send(entries[start : start + self._batch_size])


class LineCapture(io.TextIOBase):
    """A text stream that turns each complete, non-blank line into a log entry.

    A line is kept to its first ``MAX_LOG_LINE`` characters while it is written (output that
    never ends a line cannot grow without bound) and logged, saying how much was left out, when
    it ends.
    """

    def __init__(self, logs: LogBuffer, level: int) -> None:
        super().__init__()
        self._logs = logs
        self._level = level
        self._partial = ""
        self._left_out = 0
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        lines = []
        with self._lock:
            *ended, rest = text.split("\n")
            for piece in ended:
                self._extend(piece)
                lines.append(self._take())
            self._extend(rest)
        for line in lines:
            self._emit(line)
        return len(text)

    def close(self) -> None:
        with self._lock:
            rest = self._take()
        self._emit(rest)
        super().close()

    def _extend(self, piece: str) -> None:
        room = MAX_LOG_LINE - len(self._partial)
        self._partial += piece[:room]
        self._left_out += max(0, len(piece) - room)

    def _take(self) -> str:
        line, left_out = self._partial, self._left_out
        self._partial, self._left_out = "", 0
        return noting(line, left_out)

    def _emit(self, line: str) -> None:
        line = line.rstrip("\r")
        if line.strip():
            self._logs.add(self._level, line, {})


@contextlib.contextmanager
def capture_output(logs: LogBuffer) -> Iterator[None]:
    """Route ``sys.stdout`` (level 1) and ``sys.stderr`` (level 3) into ``logs``."""
    stdout, stderr = LineCapture(logs, STDOUT), LineCapture(logs, STDERR)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = stdout, stderr
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        stdout.close()
        stderr.close()
