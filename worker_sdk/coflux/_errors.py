"""Exceptions raised when reading the outcome of another execution or of an input.

::

    Exception
    ├── ExecutionError            a dependency failed (also derives from its original type)
    ├── ExecutionTerminated       a dependency ended without a result
    │   ├── ExecutionCancelled    (an input that was cancelled raises this too)
    │   ├── ExecutionTimeout
    │   └── ExecutionAbandoned
    └── InputDismissed            the person asked declined to answer
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
    """A dependency ended without a value or an error.

    Made with a message, as ``ExecutionCancelled("...")``, or with the ``execution_id`` it is
    about, which the default message names.
    """

    reason = "terminated"

    def __init__(self, message: str | None = None, *, execution_id: str | None = None) -> None:
        if message is None:
            subject = _subject(execution_id) if execution_id else "execution"
            message = f"{subject} was {self.reason}"
        super().__init__(message)
        self.message = message
        self.execution_id = execution_id

    def __str__(self) -> str:
        return self.message


class ExecutionCancelled(ExecutionTerminated):
    reason = "cancelled"


class ExecutionTimeout(ExecutionTerminated):
    reason = "timed out"


class ExecutionAbandoned(ExecutionTerminated):
    reason = "abandoned"


class InputDismissed(Exception):
    """The person asked (``cf.Prompt``) declined to answer: the input was dismissed."""

    def __init__(self, message: str | None = None, *, input_id: str | None = None) -> None:
        if message is None:
            message = f"input {input_id} was dismissed" if input_id else "input was dismissed"
        super().__init__(message)
        self.message = message
        self.input_id = input_id

    def __str__(self) -> str:
        return self.message


def _subject(ident: str) -> str:
    return f"input {ident}" if "/" in ident else f"execution {ident}"


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
    # As the original's: the type is in ``error_type``.
    message = error_message
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
    """The exception for a non-value result (``error``, ``cancelled``, …; ``dismissed`` for
    an input)."""
    kind = result.get("type")
    if kind == "error":
        return execution_error(result.get("error") or {})
    if kind in TERMINATED:
        return TERMINATED[kind](execution_id=execution_id)
    if kind == "dismissed":
        return InputDismissed(input_id=execution_id)
    return ExecutionError(f"unexpected result type {kind!r}")
