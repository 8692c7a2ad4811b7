"""``cf.Prompt``: a question for people, asked from inside an execution.

::

    approve = cf.Prompt("Deploy **{service}** to production?", title="Deployment")
    approve(service="api")                    # blocks until approved; InputDismissed if not

    review = cf.Prompt("Review {{report}}", model=Review, actions=("Accept", "Reject"))
    handle = review.submit(report=text)       # an Input[Review], at once
    verdict = handle.result()                 # a Review

The template is Markdown; ``{name}`` shows a placeholder's value inline, ``{{name}}`` as a
block, ``{{{name}}}`` as Markdown. Placeholder values travel in the value format, so an
execution or asset among them stays a live reference. ``model`` is a class with a JSON schema
(``cf.ModelSchema``: a pydantic model) or one of ``str int float bool date time datetime``;
``schema`` is a JSON schema (a dict, or its text); with neither, the prompt only asks for
approval. The server checks responses against the schema.

A prompt has a key: by default the first 16 hex digits of the SHA-256 of its content (template,
placeholders, schema, title, actions), so asking the same question twice in a run gives the
same input, and an execution that starts again from the top (after a suspension) finds the
answer already there. ``with_key`` sets another; the same key with different content is an
error (``ValueError``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import textwrap
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from ._current import current
from ._input import Input, ModelSchema
from ._options import normalize_requires
from ._serialization import serialize

T = TypeVar("T")

PRIMITIVE_SCHEMAS: dict[Any, dict[str, str]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    dt.date: {"type": "string", "format": "date"},
    dt.time: {"type": "string", "format": "time"},
    dt.datetime: {"type": "string", "format": "date-time"},
}
KEY_LENGTH = 16
"""Hex digits of a default key."""

_UNSET: Any = object()


class Prompt(Generic[T]):
    """A question: its template, what a response must be, and how it is shown."""

    def __init__(
        self,
        template: str,
        model: type[T] | None = None,
        *,
        title: str | None = None,
        actions: tuple[str, str] | None = None,
        schema: str | Mapping[str, Any] | None = None,
        requires: Mapping[str, str | bool | list[str]] | None = None,
    ) -> None:
        if not isinstance(template, str):
            raise TypeError("a prompt's template must be a string")
        if model is not None and schema is not None:
            raise ValueError("give a prompt a model or a schema, not both")
        # A template indented as the code around it: that margin is the code's, not Markdown's.
        self._template = textwrap.dedent(template).strip("\n")
        self._model = model
        self._schema = _schema_of(model) if model is not None else _parse_schema(schema)
        self._title = title
        self._actions = _check_actions(actions)
        self._requires = normalize_requires(requires) or None
        self._key: str | None = None
        self._initial: Any = None

    def _copy(self, **changes: Any) -> Prompt[T]:
        copy: Prompt[T] = object.__new__(Prompt)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy

    def with_key(self, key: str) -> Prompt[T]:
        """A copy asking under ``key`` (the run's input with that key, if it has one)."""
        if not isinstance(key, str) or not key:
            raise ValueError("a prompt's key must be a non-empty string")
        return self._copy(_key=key)

    def with_initial(self, initial: Any) -> Prompt[T]:
        """A copy whose form starts with ``initial`` (a model instance, or JSON); needs a
        model or a schema."""
        if hasattr(initial, "model_dump"):
            initial = initial.model_dump(mode="json")
        return self._copy(_initial=initial)

    def with_actions(self, respond: str, dismiss: str) -> Prompt[T]:
        """A copy whose buttons read ``respond`` and ``dismiss``."""
        return self._copy(_actions=_check_actions((respond, dismiss)))

    def with_requires(self, requires: Mapping[str, str | bool | list[str]]) -> Prompt[T]:
        """A copy routed to the people whose tags meet ``requires``."""
        return self._copy(_requires=normalize_requires(requires) or None)

    def __call__(self, **placeholders: Any) -> T:
        """Ask, and wait for the answer (see ``Input.result``)."""
        return self.submit(**placeholders).result()

    def submit(self, **placeholders: Any) -> Input[T]:
        """Ask, and return the input at once."""
        context = current()
        if context is None:
            raise RuntimeError("Not in an execution context")
        values = {name: serialize(value) for name, value in placeholders.items()}
        message: dict[str, Any] = {
            "template": self._template,
            "placeholders": values,
            "key": self._key
            or default_key(self._template, values, self._schema, self._title, self._actions),
            "schema": self._schema,
            "title": self._title,
            "actions": list(self._actions) if self._actions else None,
            "initial": self._initial,
            "requires": self._requires,
        }
        input_id = context.submit_input(message)
        model = self._model
        return Input[model](input_id) if model is not None else Input(input_id)  # type: ignore[valid-type]


def default_key(
    template: str,
    placeholders: dict[str, Any],
    schema: dict[str, Any] | None,
    title: str | None,
    actions: tuple[str, str] | None,
) -> str:
    """The first 16 hex digits of the SHA-256 of a prompt's content, placeholders as sorted
    JSON: equal prompts have equal keys."""
    content = [template, placeholders, schema, title, list(actions) if actions else None]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:KEY_LENGTH]


def _schema_of(model: Any) -> dict[str, Any]:
    if model in PRIMITIVE_SCHEMAS:
        return dict(PRIMITIVE_SCHEMAS[model])
    if isinstance(model, type) and isinstance(model, ModelSchema):
        return model.model_json_schema()
    raise TypeError(
        "a prompt's model must be a class with model_json_schema() and model_validate() "
        f"(a pydantic model) or one of str, int, float, bool, date, time, datetime; not {model!r}"
    )


def _parse_schema(schema: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if schema is None:
        return None
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise ValueError(f"a prompt's schema is not JSON: {exc}") from None
    if not isinstance(schema, Mapping):
        raise TypeError("a prompt's schema must be a JSON object (a dict or its text)")
    return dict(schema)


def _check_actions(actions: Any) -> tuple[str, str] | None:
    if actions is None:
        return None
    if (
        not isinstance(actions, tuple | list)
        or len(actions) != 2
        or not all(isinstance(label, str) and label for label in actions)
    ):
        raise ValueError("a prompt's actions are two labels: (respond, dismiss)")
    return (actions[0], actions[1])
