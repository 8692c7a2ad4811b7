"""``Execution``: a handle on a (possibly still running) execution.

A handle is a pure reference: an execution ID with its module and target. Inside an execution
the handle reads outcomes (and cancels) through the running execution's context; outside one
(SPEC §2.5) a submitted target runs at once and its handle holds the outcome already.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._current import current

if TYPE_CHECKING:
    from ._context import ExecutionContext

T = TypeVar("T")

_local_ids = itertools.count(1)


class _Outcome:
    """A local call's value or exception."""

    __slots__ = ("error", "value")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class Execution(Generic[T]):
    """A reference to an execution; ``result()`` blocks until it has an outcome."""

    __slots__ = ("_context", "_id", "_module", "_outcome", "_ref", "_target")

    def __init__(
        self,
        module: str | None,
        target: str | None,
        *,
        id: str | None = None,
        context: ExecutionContext | None = None,
        ref: str | None = None,
        outcome: _Outcome | None = None,
    ) -> None:
        self._id = id
        self._module = module
        self._target = target
        self._context = context
        self._ref = ref
        self._outcome = outcome

    @classmethod
    def reference(cls, id: str, module: str | None, target: str | None) -> Execution[Any]:
        """A handle on a known execution, bound to the running execution if there is one."""
        return cls(module, target, id=id, context=current())

    @classmethod
    def resolved(
        cls, module: str, target: str, value: Any = None, error: BaseException | None = None
    ) -> Execution[Any]:
        """The handle of a call that already ran in this process."""
        return cls(module, target, id=f"local-{next(_local_ids)}", outcome=_Outcome(value, error))

    @property
    def id(self) -> str:
        """The execution ID; for a just-submitted call, waits until the server assigned it."""
        if self._id is None:
            self._id = self._bound().id_for(self._ref or "")
        return self._id

    @property
    def _local(self) -> bool:
        """Whether this is the handle of a call that already ran in this process."""
        return self._outcome is not None

    @property
    def module(self) -> str | None:
        return self._module

    @property
    def target(self) -> str | None:
        return self._target

    def result(self) -> T:
        """The value; raises ``ExecutionError``/``ExecutionTerminated`` if there is none.

        Waits for it without limit, or in a ``cf.suspense`` block as long as that allows before
        the execution suspends.
        """
        if self._outcome is not None:
            return self._outcome.get()
        return self._bound().result(self)

    def poll(self, timeout: float | None = None, default: Any = None) -> T | Any:
        """The value if the execution has finished within ``timeout`` seconds, else ``default``.

        Asks the server even with no timeout (one round trip); never suspends, even in a
        ``cf.suspense`` block. Raises as ``result()`` does if the execution failed.
        """
        if self._outcome is not None:
            return self._outcome.get()
        return self._bound().poll(self, timeout, default)

    def cancel(self) -> None:
        """Cancel the execution and its descendants, unless it has finished; does not wait."""
        if self._outcome is None:
            self._bound().cancel([self])

    def _bound(self) -> ExecutionContext:
        if self._context is not None:
            return self._context
        context = current()
        if context is None:
            raise RuntimeError("Not in an execution context")
        self._context = context
        return context

    def __repr__(self) -> str:
        ident = self._id if self._id is not None else f"<pending {self._ref}>"
        return f"Execution({ident!r}, {self._module!r}, {self._target!r})"
