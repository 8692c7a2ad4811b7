"""Flow control inside an execution: ``select``, ``cancel``, ``suspense`` and ``suspend``.

Waiting holds the executor process an execution runs in (though not, once it lasts, a unit of
its worker's concurrency: see ``coflux._context``). ``suspense`` bounds how long the waits in
its block may take; past that the execution *suspends*: it stops, reports a ``suspended``
result naming what it waited for, and the server starts a new attempt from the top once one
of those has a result. ``suspend`` stops it the same way until a given time. Either way the
code before the wait runs again in the new attempt, so its side effects should be memoised.

Outside an execution (SPEC §2.5) handles are already resolved: ``select`` returns the first,
``cancel`` and ``suspense`` do nothing, and ``suspend`` refuses.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn, TypeVar

from ._context import suspense_timeout
from ._current import current
from ._execution import Execution
from ._input import Input

H = TypeVar("H", bound=Execution[Any] | Input[Any])


def select(handles: Iterable[H], *, cancel_remaining: bool = False) -> tuple[H, list[H]]:
    """Wait for the first of ``handles`` (executions, inputs) to resolve; return it and the
    others, in order.

    If several have already resolved, the earliest in the list wins. ``cancel_remaining``
    cancels the other executions (those not finished) in one request; inputs stay asked. In a
    ``suspense`` block that runs out first, the execution suspends until one of them resolves.
    """
    handles = list(handles)
    if not handles:
        raise ValueError("select() needs at least one handle")
    context = current()
    if context is None:
        index = next((i for i, handle in enumerate(handles) if handle._local), None)
        if index is None:
            raise RuntimeError("Not in an execution context")
    else:
        index = context.select(handles)
    winner, remaining = handles[index], handles[:index] + handles[index + 1 :]
    if cancel_remaining:
        cancel([handle for handle in remaining if isinstance(handle, Execution)])
    return winner, remaining


def cancel(handles: Iterable[Execution[Any] | Input[Any]]) -> None:
    """Cancel executions and all their descendants, and inputs, in one request; does not wait.

    Handles already resolved are skipped. The cancelled executions' and inputs' waiters get
    ``ExecutionCancelled``.
    """
    running = [handle for handle in handles if not handle._local]
    if not running:
        return
    context = current()
    if context is None:
        raise RuntimeError("Not in an execution context")
    context.cancel(running)


@contextlib.contextmanager
def suspense(timeout: float | dt.timedelta | None = None) -> Iterator[None]:
    """Let ``result()`` and ``select`` in the block wait at most ``timeout`` seconds (``None``:
    not at all beyond asking the server), then suspend the execution instead.

    Blocks nest; leaving one restores the outer timeout. Outside an execution this does
    nothing. ``poll`` is not affected: it never suspends.
    """
    seconds = 0.0 if timeout is None else _seconds(timeout, "timeout")
    if seconds < 0:
        raise ValueError("timeout must not be negative")
    if current() is None:
        yield
        return
    token = suspense_timeout.set(seconds)
    try:
        yield
    finally:
        suspense_timeout.reset(token)


def suspend(delay: float | dt.timedelta | dt.datetime | None = None) -> NoReturn:
    """Stop the execution; a new attempt starts from the top after ``delay``.

    ``delay`` is seconds, a ``timedelta``, or a ``datetime`` to resume at (a naive one is
    local time); ``None`` resumes as soon as possible. Never returns.
    """
    context = current()
    if context is None:
        raise RuntimeError("Not in an execution context")
    context.suspend(_epoch_ms(delay), [])


def _epoch_ms(delay: float | dt.timedelta | dt.datetime | None) -> int | None:
    if delay is None:
        return None
    if isinstance(delay, dt.datetime):
        # ``timestamp()`` reads a naive datetime as local time.
        return round(delay.timestamp() * 1000)
    return round((time.time() + _seconds(delay, "delay")) * 1000)


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{name} must be seconds or a timedelta, not {type(value).__name__}")
