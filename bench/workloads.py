"""The benchmark's workflows: one trivial task, three shapes of calling it."""

from __future__ import annotations

import coflux as cf


@cf.task()
def inc(x: int) -> int:
    return x + 1


@cf.workflow()
def fan_out(count: int) -> int:
    handles = [inc.submit(i) for i in range(count)]
    return sum(h.result() for h in handles)


@cf.workflow()
def sequential(count: int) -> int:
    value = 0
    for _ in range(count):
        value = inc(value)
    return value


@cf.workflow()
def single() -> int:
    return inc(1)
