"""Which execution this process is running: the one thing handles, targets, assets, metrics,
logs and groups need from the execution machinery (``coflux._context``).

An executor process runs exactly one execution at a time, so this is a process-wide global
rather than a context variable: threads the user starts see it too. It is set by the executor
(``activate``); everything else only reads it (``current``), so it imports nothing of the SDK
and every module can depend on it without forming a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._context import ExecutionContext

_current: ExecutionContext | None = None


def current() -> ExecutionContext | None:
    """The running execution's context, or ``None`` outside an executor."""
    return _current


def activate(context: ExecutionContext | None) -> None:
    global _current
    _current = context
