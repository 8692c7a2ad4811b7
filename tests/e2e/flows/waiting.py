"""Targets for the flow-control tests: select, poll, wait dependencies, delay, defer, suspend
and suspense.

Hosted together with ``durable`` (for ``long_nap``). Targets with side effects take a
``directory`` to count them in (see ``marks``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import coflux as cf

from .durable import long_nap
from .marks import mark


@cf.task()
def echo(value: Any) -> Any:
    return value


@cf.workflow()
def echo_workflow(value: Any) -> Any:
    return value


@cf.task()
def gated(gate: str) -> str:
    """Return the contents of ``gate`` once the file exists."""
    while not Path(gate).exists():
        time.sleep(0.02)
    return Path(gate).read_text()


# --- select -------------------------------------------------------------------------------


@cf.workflow()
def race(directory: str) -> list[Any]:
    slow = long_nap.submit(directory, "slow")
    fast = echo.submit("fast")
    winner, remaining = cf.select([slow, fast], cancel_remaining=True)
    return [winner.result(), [handle.id for handle in remaining]]


# --- poll ---------------------------------------------------------------------------------


@cf.workflow()
def polls_pending(directory: str) -> Any:
    gate = Path(directory) / "gate"
    handle = gated.submit(str(gate))
    seen = handle.poll(default="pending")
    gate.write_text("open")
    handle.result()
    return seen


@cf.workflow()
def polls_until_ready() -> Any:
    handle = echo.submit("ready")
    deadline = time.monotonic() + 20
    while (value := handle.poll()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


@cf.workflow()
def polls_with_a_timeout(directory: str) -> list[Any]:
    gate = Path(directory) / "gate"
    handle = gated.submit(str(gate))
    started = time.monotonic()
    seen = handle.poll(timeout=0.5, default="late")
    waited = time.monotonic() - started
    gate.write_text("open")
    handle.result()
    return [seen, waited]


@cf.workflow()
def polls_with_a_timeout_until_ready() -> list[Any]:
    handle = echo.submit("soon")
    started = time.monotonic()
    seen = handle.poll(timeout=10, default="late")
    return [seen, time.monotonic() - started]


# --- wait dependencies --------------------------------------------------------------------


@cf.task()
def produce(value: str) -> str:
    time.sleep(0.3)
    return value


@cf.task(wait=True)
def consume(produced: cf.Execution[str]) -> str:
    # Started only once ``produced`` has finished, so its result is there at once.
    return produced.poll(default="not ready")


@cf.workflow()
def waits_for_its_argument() -> str:
    return consume(produce.submit("made"))


@cf.task(wait=["first"])
def consume_first(first: cf.Execution[str], second: cf.Execution[str]) -> list[str]:
    return [first.poll(default="not ready"), second.poll(default="not ready")]


@cf.workflow()
def waits_for_the_named_argument(directory: str) -> list[str]:
    gate = Path(directory) / "gate"
    second = gated.submit(str(gate))
    seen = consume_first(produce.submit("made"), second)
    gate.write_text("open")
    second.result()
    return seen


# --- delay and defer ----------------------------------------------------------------------


@cf.task(delay=0.5)
def delayed(value: str) -> str:
    return value


@cf.workflow()
def calls_delayed() -> str:
    return delayed("late")


@cf.workflow()
def calls_with_a_delay() -> str:
    return echo.with_delay(0.5)("late")


@cf.task(defer=cf.Defer(params=["key"]), delay=0.5)
def debounced(key: str, i: int) -> int:
    mark(key, "debounced")  # the key is the test's directory
    return i


@cf.workflow()
def debounces(directory: str) -> list[int]:
    handles = [debounced.submit(directory, i) for i in range(5)]
    return [handle.result() for handle in handles]


# --- suspend and suspense -----------------------------------------------------------------


@cf.task()
def suspends(directory: str, times: int, delay: float) -> list[Any]:
    """Suspend ``times`` times; return the attempt and the seconds since the last suspension."""
    attempt = mark(directory, "suspends")
    stamp = Path(directory) / "suspended_at"
    since = time.time() - float(stamp.read_text()) if stamp.exists() else None
    if attempt <= times:
        stamp.write_text(repr(time.time()))
        cf.suspend(delay)
    return [attempt, since]


@cf.workflow()
def calls_suspends(directory: str, times: int, delay: float) -> list[Any]:
    return suspends(directory, times, delay)


@cf.task(memo=True)
def memoised_child(directory: str) -> str:
    mark(directory, "memoised_child")
    time.sleep(0.3)
    return "child done"


@cf.workflow()
def suspends_for_its_child(directory: str) -> str:
    mark(directory, "parent")
    child = memoised_child.submit(directory)
    with cf.suspense(0):
        return child.result()


@cf.workflow()
def grouped() -> list[Any]:
    with cf.group("batch"):
        handles = [echo.submit(n) for n in range(3)]
    alone = echo.submit("alone")
    return [handle.result() for handle in handles] + [alone.result()]
