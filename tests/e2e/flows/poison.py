"""A fan-out that a raw protocol client shares with a real worker, for the poison test."""

from __future__ import annotations

import coflux as cf


@cf.task()
def square(x: int) -> int:
    return x * x


@cf.workflow()
def squares(n: int) -> int:
    return sum(execution.result() for execution in [square.submit(i) for i in range(n)])
