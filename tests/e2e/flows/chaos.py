"""A fan-out whose task bodies count how often they ran, for the fault-injection tests."""

from __future__ import annotations

import time

import coflux as cf

from .marks import mark


@cf.task()
def touch(directory: str, i: int) -> int:
    mark(directory, f"t{i}")
    time.sleep(0.02)
    return i


@cf.workflow()
def fan_out(directory: str, n: int) -> int:
    return sum(execution.result() for execution in [touch.submit(directory, i) for i in range(n)])
