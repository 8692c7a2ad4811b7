"""Exceptions raised when reading the outcome of another execution.

::

    Exception
    ├── ExecutionError            a dependency failed (also derives from its original type)
    └── ExecutionTerminated       a dependency ended without a result
        ├── ExecutionCancelled
        ├── ExecutionTimeout
        └── ExecutionAbandoned
"""

from __future__ import annotations

import importlib
import threading
from typing import Any


class ExecutionError(Exception):
    """A dependency failed with an error.

    When the failure's type (for example ``builtins.ValueError``) can be imported here, the
    raised instance also derives from it, so ``except ValueError:`` catches it.
    """

    def __init__(
        self, message: str, error_type: str | None = None, error_message: str | None = None
    ) -> None:
        # Not ``super()``: in a derived class that would run the original type's ``__init__``,
        # whose arguments may be anything.
        Exception.__init__(self, message)
        self.message = message
        self.error_type = error_type
        self.error_message = error_message
        self.frames: list[dict[str, Any]] = []
        """Where the dependency raised (``file``, ``line``, ``name``, ``code``), if known."""

    def __str__(self) -> str:
        return self.message


class ExecutionTerminated(Exception):
    """A dependency ended without a value or an error."""

    reason = "terminated"

    def __init__(self, execution_id: str | None = None) -> None:
        super().__init__(execution_id)
        self.execution_id = execution_id

    def __str__(self) -> str:
        subject = f"execution {self.execution_id}" if self.execution_id else "the execution"
        return f"{subject} was {self.reason}"


class ExecutionCancelled(ExecutionTerminated):
    reason = "cancelled"


class ExecutionTimeout(ExecutionTerminated):
    reason = "timed out"


class ExecutionAbandoned(ExecutionTerminated):
    reason = "abandoned"


TERMINATED: dict[str, type[ExecutionTerminated]] = {
    "cancelled": ExecutionCancelled,
    "timeout": ExecutionTimeout,
    "abandoned": ExecutionAbandoned,
}

_derived: dict[type[BaseException], type[ExecutionError] | None] = {}
_derived_lock = threading.Lock()


def import_type(qualified: str) -> type[BaseException] | None:
    """Find ``pkg.mod.Outer.Error`` by importing the longest importable module prefix."""
    parts = qualified.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except Exception:
            continue
        try:
            for attribute in parts[split:]:
                found = getattr(found, attribute)
        except AttributeError:
            return None
        if isinstance(found, type) and issubclass(found, Exception):
            return found
        return None
    return None


def _derive(original: type[BaseException]) -> type[ExecutionError] | None:
    with _derived_lock:
        if original not in _derived:
            if issubclass(original, ExecutionError):
                _derived[original] = original
                return original
            try:
                cls = type(original.__name__, (ExecutionError, original), {})
            except TypeError:
                # Incompatible instance layouts (some built-in exceptions) cannot be combined.
                cls = None
            else:
                cls.__module__ = original.__module__
                cls.__qualname__ = original.__qualname__
            _derived[original] = cls
        return _derived[original]


def execution_error(error: dict[str, Any]) -> ExecutionError:
    """The exception to raise for an ``error`` result reported by another execution."""
    error_type = error.get("type") or "Exception"
    error_message = error.get("message") or ""
    message = f"{error_type}: {error_message}" if error_message else error_type
    original = import_type(error_type)
    cls = _derive(original) if original is not None else None
    instance: ExecutionError | None = None
    if cls is not None:
        try:
            instance = cls.__new__(cls, message)
            ExecutionError.__init__(instance, message, error_type, error_message)
        except Exception:
            instance = None
    if instance is None:
        instance = ExecutionError(message, error_type, error_message)
    instance.frames = list(error.get("frames") or [])
    return instance


def result_exception(result: dict[str, Any], execution_id: str | None = None) -> BaseException:
    """The exception for a non-value result (``error``, ``cancelled``, …)."""
    kind = result.get("type")
    if kind == "error":
        return execution_error(result.get("error") or {})
    if kind in TERMINATED:
        return TERMINATED[kind](execution_id)
    return ExecutionError(f"unexpected result type {kind!r}")
