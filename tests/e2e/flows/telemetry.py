"""Workflows that log and record metrics, for the end-to-end tests of logs and metrics."""

from __future__ import annotations

import sys
import time

import coflux as cf

training = cf.MetricGroup("training", units="epoch")
loss = cf.Metric("loss", group=training, scale="error")


@cf.task()
def count(n: int) -> int:
    for i in range(n):
        cf.log_info("counted {i} of {n}", i=i, n=n, parity="even" if i % 2 == 0 else "odd")
    print("counting done")
    print("a warning on stderr", file=sys.stderr)
    cf.log_debug("debugging {what}", what={"a": [1, 2]})
    cf.log_warning("careful")
    cf.log_error(None, code=7)
    return n


@cf.workflow()
def chatter(n: int) -> int:
    cf.log_info("starting with {n}", n=n)
    total = count(n)
    cf.log_info("finished")
    return total


@cf.workflow()
def slow_talk(lines: int, pause: float) -> int:
    for i in range(lines):
        print(f"line {i}")
        time.sleep(pause)
    return lines


@cf.task()
def train(epochs: int) -> float:
    value = 1.0
    for epoch in range(epochs):
        value = 1 / (epoch + 1)
        loss.record(value)
    for _ in cf.progress(range(5), key="batches"):
        pass
    cf.Metric("accuracy", group=training, throttle=None).record(0.9, at=3)
    return value


@cf.workflow()
def learn(epochs: int) -> float:
    return train(epochs)


@cf.workflow()
def rambles(characters: int) -> str:
    """Prints and logs text longer than any message may be, then fails with as long a message."""
    print("a" * characters)
    cf.log_info("c" * characters)
    raise ValueError("b" * characters)
