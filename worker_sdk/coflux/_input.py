"""``Input``: a handle on a question asked of people (``cf.Prompt``), and on its answer.

Like an ``Execution`` handle it is a pure reference, the input's ID (``<run>/i<n>``): it can be
passed to other executions, returned, and awaited by another run. Inside an execution it reads
the answer through the running execution's context, as an execution's result is read:
``result()`` waits (or, in ``cf.suspense``, suspends the execution until someone answers),
``poll()`` never suspends. A dismissed input raises ``InputDismissed``, a cancelled one
``ExecutionCancelled``.

``Input[Model]`` parses the response with ``Model.model_validate`` (a pydantic model, say);
``Input[date]``, ``Input[time]`` and ``Input[datetime]`` from ISO text. A target's argument
annotated ``Input[Model]`` receives such a handle (``upgrade``), whoever passed it.
"""

from __future__ import annotations

import datetime as dt
import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from ._current import current

if TYPE_CHECKING:
    from ._context import ExecutionContext

T = TypeVar("T")

_ISO_TYPES: dict[Any, Callable[[Any], Any]] = {
    dt.date: dt.date.fromisoformat,
    dt.time: dt.time.fromisoformat,
    dt.datetime: dt.datetime.fromisoformat,
}


@runtime_checkable
class ModelSchema(Protocol):
    """A class ``cf.Prompt`` can ask for (a pydantic model is one): it describes itself as a
    JSON schema and builds itself from the response."""

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]: ...

    @classmethod
    def model_validate(cls, obj: Any) -> Any: ...


class Input(Generic[T]):
    """A reference to an input; ``result()`` blocks until someone has answered it."""

    __slots__ = ("_id",)
    _model: ClassVar[Any] = None
    """The type the response is parsed into (``Input[Model]``), if any."""
    _local: ClassVar[bool] = False
    """Inputs are never answered in this process (see ``Execution._local``)."""
    _typed: ClassVar[dict[Any, type[Input[Any]]]] = {}

    def __init__(self, id: str) -> None:
        self._id = id

    def __class_getitem__(cls, item: Any) -> Any:
        parse = _parser(item)
        if parse is None or cls is not Input:
            return super().__class_getitem__(item)  # type: ignore[misc]
        if item not in Input._typed:
            name = getattr(item, "__name__", repr(item))
            namespace = {"__slots__": (), "_model": item, "__module__": Input.__module__}
            Input._typed[item] = type(f"Input[{name}]", (Input,), namespace)
        return Input._typed[item]

    @property
    def id(self) -> str:
        return self._id

    def result(self) -> T:
        """The response; raises ``InputDismissed`` or ``ExecutionCancelled`` if there is none.

        Waits for it without limit, or in a ``cf.suspense`` block as long as that allows before
        the execution suspends (to start again from the top once the input is answered).
        """
        return self._parse(self._bound().result(self))

    def poll(self, timeout: float | None = None, default: Any = None) -> T | Any:
        """The response if there is one within ``timeout`` seconds, else ``default``; never
        suspends."""
        missing = object()
        value = self._bound().poll(self, timeout, missing)
        return default if value is missing else self._parse(value)

    def cancel(self) -> None:
        """Withdraw the question unless it has been answered: waiters get
        ``ExecutionCancelled``."""
        self._bound().cancel([self])

    def _parse(self, value: Any) -> Any:
        model = type(self)._model
        if model is None:
            return value
        parse = _parser(model)
        assert parse is not None
        return parse(value)

    def _bound(self) -> ExecutionContext:
        context = current()
        if context is None:
            raise RuntimeError("Not in an execution context")
        return context

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Input) and other._id == self._id

    def __hash__(self) -> int:
        return hash(("input", self._id))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._id!r})"


def _parser(item: Any) -> Callable[[Any], Any] | None:
    if item in _ISO_TYPES:
        return _ISO_TYPES[item]
    if isinstance(item, type) and callable(getattr(item, "model_validate", None)):
        return item.model_validate
    return None


def upgrade(fn: Callable[..., Any], arguments: list[Any]) -> list[Any]:
    """``arguments`` with each ``Input`` passed to a parameter annotated ``Input[Model]`` made
    an ``Input[Model]`` (a handle that travelled lost its type)."""
    if not any(isinstance(argument, Input) for argument in arguments):
        return arguments
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return arguments
    names = list(inspect.signature(fn).parameters)
    upgraded = list(arguments)
    for index, argument in enumerate(arguments):
        hint = hints.get(names[index]) if index < len(names) else None
        if (
            isinstance(argument, Input)
            and isinstance(hint, type)
            and issubclass(hint, Input)
            and hint._model is not None
        ):
            upgraded[index] = hint(argument.id)
    return upgraded
