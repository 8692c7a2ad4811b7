"""Log entries leave an execution in batches, each within the flush interval."""

from __future__ import annotations

import threading
import time
from typing import Any

from coflux._capture import INFO, LogBuffer


class Batches:
    """What a ``LogBuffer`` sends, with when each batch left."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, list[str]]] = []
        self._arrived = threading.Condition()

    def __call__(self, entries: list[list[Any]]) -> None:
        with self._arrived:
            self.sent.append((time.monotonic(), [entry[2] for entry in entries]))
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.sent) >= count, timeout)


def test_each_line_leaves_within_the_interval_while_the_execution_goes_on():
    batches = Batches()
    logs = LogBuffer(batches, batch_size=100, flush_interval=0.05)
    try:
        for n in range(3):
            logged = time.monotonic()
            logs.add(INFO, f"line {n}", {})
            assert batches.wait_for(n + 1), f"line {n} was held"
            sent_at, lines = batches.sent[n]
            assert lines == [f"line {n}"]
            assert sent_at - logged < 1.0
            # Long enough for the background thread to go back to sleep on an empty buffer.
            time.sleep(0.2)
    finally:
        logs.close()


def test_lines_that_come_quickly_leave_together():
    batches = Batches()
    logs = LogBuffer(batches, batch_size=100, flush_interval=0.2)
    for n in range(10):
        logs.add(INFO, f"line {n}", {})
    assert batches.wait_for(1)
    logs.close()
    assert [line for _, lines in batches.sent for line in lines] == [f"line {n}" for n in range(10)]
    assert len(batches.sent) == 1


def test_a_full_batch_leaves_at_once():
    batches = Batches()
    logs = LogBuffer(batches, batch_size=5, flush_interval=60)
    try:
        for n in range(5):
            logs.add(INFO, f"line {n}", {})
        assert batches.wait_for(1, timeout=2)
        assert batches.sent[0][1] == [f"line {n}" for n in range(5)]
    finally:
        logs.close()
