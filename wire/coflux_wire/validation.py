"""What a worker may send: the checks behind ``protocol.validate``.

The protocol boundary is the one place that decides whether a message is valid. A message that
passes can be applied and stored as it is: every string is free of NUL characters (PostgreSQL
refuses them in text and jsonb) and lone surrogates, every integer fits in signed 64 bits (and
counts in the 32 bits of the columns that hold them), every float is finite, timestamps and
durations keep dates between 1970 and 9999, JSON nests at most ``MAX_DEPTH`` levels, lists are
bounded, and every field has the shape the server relies on. Anything else raises
``ProtocolError``, which the server answers with an ``error`` reply to the sender alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from .values import MAX_INT, MIN_INT, is_safe_text

MAX_DEPTH = 100
"""Levels of nesting in a message, the message object being the first."""
MAX_ITEMS = 10_000
"""Items of a list in a message: identifiers, targets, arguments, tags, frames, references."""
MAX_ENTRIES = 1_000
"""Log entries, metric definitions or metric points in one message."""
MAX_ID = 64
"""Characters of an identifier (the longest column holding one)."""
MAX_NAME = 255
"""Characters of a module, target or error type name."""
MAX_METRIC_KEY = 200
MAX_TEMPLATE = 100_000
"""Characters of an input's template."""
MAX_INPUT_KEY = 200
MAX_COUNT = 2**31 - 1
"""Concurrency, process caps and group numbers are stored in 32-bit integer columns."""
MAX_TIMESTAMP_MS = 253_370_764_800_000
"""The start of the year 9999 in epoch milliseconds: later dates overflow once a time zone or
a delay is added to them."""
MAX_DURATION_MS = 1000 * 365 * 86_400_000
"""A thousand years: the longest delay, timeout, cache age or backoff, so that now plus any of
them stays a date."""
LEVELS = range(6)
"""Log levels: 0 debug, 1 stdout, 2 info, 3 stderr, 4 warning, 5 error."""

WORKSPACE_NAME = re.compile(r"[a-z0-9_-]+(/[a-z0-9_-]+)*", re.IGNORECASE)
MAX_WORKSPACE_NAME = 200
EXECUTION_ID = re.compile(r"R[0-9A-Za-z]+:[1-9][0-9]{0,8}:[1-9][0-9]{0,8}")
"""``R<run>:<step>:<attempt>``: the executions the server assigns, and so the only ones a worker
speaks for."""
BLOB_KEY = re.compile(r"[0-9a-f]{64}")
RESULT_TYPES = frozenset({"value", "error", "abandoned", "cancelled", "timeout", "suspended"})


class ProtocolError(ValueError):
    """A message that does not follow the protocol; ``code`` is the ``error`` reply's code."""

    def __init__(self, message: str, code: str = "invalid_message") -> None:
        super().__init__(message)
        self.code = code


# --- JSON as the database and Python take it ---------------------------------------------------


def check_json(value: Any, level: int = 1) -> None:
    """Refuse what no column can hold, anywhere in ``value``: see the module's docstring.

    Scalars are checked in their container's loop, not in a call each: most of a message is
    scalars, and this runs on every message a worker sends.
    """
    kind = type(value)
    if kind is dict:
        for key in value:
            if type(key) is not str:
                raise ProtocolError("object keys must be strings")
            if "\x00" in key or not (key.isascii() or is_safe_text(key)):
                raise ProtocolError(_UNSAFE_TEXT)
        items: Any = value.values()
    elif kind is list:
        items = value
    else:
        items = (value,)
    for item in items:
        kind = type(item)
        if kind is str:
            if "\x00" in item or not (item.isascii() or is_safe_text(item)):
                raise ProtocolError(_UNSAFE_TEXT)
        elif kind is int:
            if not MIN_INT <= item <= MAX_INT:
                raise ProtocolError("integers must fit in signed 64 bits")
        elif kind is dict or kind is list:
            if level >= MAX_DEPTH:
                raise ProtocolError(f"JSON must not nest more than {MAX_DEPTH} levels")
            check_json(item, level + 1)
        elif kind is float:
            if not math.isfinite(item):
                raise ProtocolError("numbers must be finite")
        elif kind is not bool and item is not None:
            raise ProtocolError(f"not a JSON value: {kind.__name__}")


_UNSAFE_TEXT = "text must not hold NUL characters or lone surrogates"


# --- fields ------------------------------------------------------------------------------------


def _fail(what: str, rule: str, code: str = "invalid_message") -> None:
    raise ProtocolError(f"{what} {rule}", code)


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def _check_id(value: Any, what: str) -> None:
    if not (type(value) is str and 0 < len(value) <= MAX_ID):
        _fail(what, f"must be an identifier of 1 to {MAX_ID} characters")


def _check_execution(value: Any, what: str = "'execution'") -> None:
    if not (type(value) is str and len(value) <= MAX_ID and EXECUTION_ID.fullmatch(value)):
        _fail(what, "must be an execution identifier R…:step:attempt")


def _check_list(value: Any, what: str, most: int = MAX_ITEMS) -> list[Any]:
    if type(value) is not list:
        _fail(what, "must be a list")
    if len(value) > most:
        _fail(what, f"must not hold more than {most} items")
    return value


def _check_ids(value: Any, what: str) -> None:
    for item in _check_list(value, what):
        if not (type(item) is str and 0 < len(item) <= MAX_ID):
            _fail(what, f"must hold identifiers of 1 to {MAX_ID} characters")


def _check_name(value: Any, what: str) -> None:
    if not (type(value) is str and 0 < len(value) <= MAX_NAME):
        _fail(what, f"must be a name of 1 to {MAX_NAME} characters")


def _check_count(value: Any, what: str) -> None:
    if not (_is_int(value) and 0 <= value <= MAX_COUNT):
        _fail(what, f"must be an integer from 0 to {MAX_COUNT}")


def _check_duration(value: Any, what: str) -> None:
    if not (_is_int(value) and 0 <= value <= MAX_DURATION_MS):
        _fail(what, f"must be whole milliseconds from 0 to {MAX_DURATION_MS}")


def _check_timestamp(value: Any, what: str) -> None:
    if not (_is_number(value) and 0 <= value < MAX_TIMESTAMP_MS):
        _fail(what, "must be epoch milliseconds from 1970 to 9999")


def _check_tags(value: Any, what: str) -> None:
    if type(value) is not dict or len(value) > MAX_ITEMS:
        _fail(what, f"must be an object of at most {MAX_ITEMS} keys")
    for values in value.values():
        if not (
            type(values) is list
            and len(values) <= MAX_ITEMS
            and all(type(v) is str for v in values)
        ):
            _fail(what, "must map keys to lists of strings")


def _check_indexes(value: Any, what: str) -> None:
    if not all(_is_int(i) and 0 <= i <= MAX_COUNT for i in _check_list(value, what)):
        _fail(what, "must be a list of parameter indexes")


def _optional(value: Any, check: Callable[[Any, str], None], what: str) -> None:
    if value is not None:
        check(value, what)


# --- values ------------------------------------------------------------------------------------


def check_value(value: Any, what: str = "a value") -> None:
    """A value in the wire format: inline JSON data or a blob, with its references."""
    if type(value) is not dict:
        _fail(what, "must be a value object")
    kind = value.get("type")
    if kind == "inline":
        if value.get("format", "json") != "json" or "data" not in value:
            _fail(what, "must be inline JSON data")
    elif kind == "blob":
        _check_blob(value, what)
    else:
        _fail(what, "must be of type 'inline' or 'blob'")
    for ref in _check_list(value.get("refs", []), f"the references of {what}"):
        _check_reference(ref, what)


def _check_blob(ref: dict[str, Any], what: str) -> None:
    key, size = ref.get("key"), ref.get("size")
    if not (type(key) is str and BLOB_KEY.fullmatch(key)):
        _fail(what, "needs a blob key of 64 lowercase hexadecimal digits")
    if not (_is_int(size) and size >= 0):
        _fail(what, "needs a size in bytes")


def _check_reference(ref: Any, what: str) -> None:
    kind = ref.get("type") if type(ref) is dict else None
    if kind in ("execution", "asset", "input"):
        _check_id(ref.get("id"), f"a reference of {what}: 'id'")
    elif kind == "fragment":
        _check_blob(ref, f"a fragment of {what}")
        if not (type(ref.get("format")) is str and ref["format"]):
            _fail(f"a fragment of {what}", "needs a format")
        if type(ref.get("metadata", {})) not in (dict, type(None)):
            _fail(f"a fragment of {what}", "has metadata that is not an object")
    else:
        _fail(what, "has a reference that is not an execution, asset, input or fragment")


# --- worker messages ---------------------------------------------------------------------------


def _hello(message: dict[str, Any]) -> None:
    workspace = message["workspace"]
    if len(workspace) > MAX_WORKSPACE_NAME or not WORKSPACE_NAME.fullmatch(workspace):
        _fail(
            f"hello: workspace {workspace[:MAX_WORKSPACE_NAME]!r}",
            "is not a name: use letters, digits, '_' and '-', in segments separated by '/' "
            f"(at most {MAX_WORKSPACE_NAME} characters)",
            "invalid_workspace",
        )
    _optional(message["session"], _check_id, "hello: 'session'")
    _check_count(message["concurrency"], "hello: 'concurrency'")
    if "max_processes" in message:
        _check_count(message["max_processes"], "hello: 'max_processes'")
    _check_tags(message["provides"], "hello: 'provides'")
    _check_tags(message["accepts"], "hello: 'accepts'")
    for target in _check_list(message["targets"], "hello: 'targets'"):
        if type(target) is not dict or target.get("type") not in ("workflow", "task"):
            _fail("hello: each target", "must be an object with module, name and type")
        _check_name(target.get("module"), "hello: a target's module")
        _check_name(target.get("name"), "hello: a target's name")
        _check_list(target.get("parameters", []), "hello: a target's parameters")


def _execution_only(message: dict[str, Any]) -> None:
    _check_execution(message["execution"], f"{message['type']}: 'execution'")


def _submit(message: dict[str, Any]) -> None:
    _check_id(message["ref"], "submit: 'ref'")
    _check_execution(message["parent"], "submit: 'parent'")
    _check_name(message["module"], "submit: 'module'")
    _check_name(message["target"], "submit: 'target'")
    if message["target_type"] not in ("workflow", "task"):
        _fail("submit: 'target_type'", "must be 'workflow' or 'task'")
    for argument in _check_list(message["arguments"], "submit: 'arguments'"):
        check_value(argument, "submit: an argument")
    _optional(message["group"], _check_count, "submit: 'group'")
    if type(message.get("group_name")) not in (str, type(None)):
        _fail("submit: 'group_name'", "must be a string or null")
    _check_options(message["options"])


def _check_options(options: dict[str, Any]) -> None:
    """The options of a call, as ``coflux._options`` normalises them; all may be left out."""
    _optional(options.get("wait"), _check_indexes, "submit: option 'wait'")
    memo = options.get("memo")
    if type(memo) is not bool:
        _optional(memo, _check_indexes, "submit: option 'memo'")
    for option in ("delay_ms", "timeout_ms"):
        _optional(options.get(option), _check_duration, f"submit: option {option!r}")
    if type(options.get("recurrent", False)) is not bool:
        _fail("submit: option 'recurrent'", "must be a boolean")
    _optional(options.get("requires"), _check_tags, "submit: option 'requires'")
    cache = _object_option(options, "cache")
    if cache is not None:
        _optional(cache.get("params"), _check_indexes, "submit: 'cache.params'")
        _optional(cache.get("max_age_ms"), _check_duration, "submit: 'cache.max_age_ms'")
        for field in ("namespace", "version"):
            if type(cache.get(field)) not in (str, type(None)):
                _fail(f"submit: 'cache.{field}'", "must be a string or null")
    defer = _object_option(options, "defer")
    if defer is not None:
        _optional(defer.get("params"), _check_indexes, "submit: 'defer.params'")
    retries = _object_option(options, "retries")
    if retries is not None:
        _optional(retries.get("limit"), _check_count, "submit: 'retries.limit'")
        for field in ("backoff_min_ms", "backoff_max_ms"):
            _optional(retries.get(field), _check_duration, f"submit: 'retries.{field}'")


def _object_option(options: dict[str, Any], option: str) -> dict[str, Any] | None:
    """The option that holds an object of settings, or None; anything else is refused."""
    value = options.get(option)
    if value is not None and type(value) is not dict:
        _fail(f"submit: option {option!r}", "must be an object or null")
    return value


def _submit_input(message: dict[str, Any]) -> None:
    _check_id(message["ref"], "submit_input: 'ref'")
    _check_execution(message["execution"], "submit_input: 'execution'")
    if len(message["template"]) > MAX_TEMPLATE:
        _fail("submit_input: 'template'", f"must not be longer than {MAX_TEMPLATE} characters")
    placeholders = message["placeholders"]
    if len(placeholders) > MAX_ITEMS:
        _fail("submit_input: 'placeholders'", f"must not hold more than {MAX_ITEMS} values")
    for name, value in placeholders.items():
        _check_name(name, "submit_input: a placeholder's name")
        check_value(value, "submit_input: a placeholder")
    key = message.get("key")
    if key is not None and not (type(key) is str and 0 < len(key) <= MAX_INPUT_KEY):
        _fail("submit_input: 'key'", f"must be null or a string of 1 to {MAX_INPUT_KEY} characters")
    if type(message.get("schema")) not in (dict, type(None)):
        _fail("submit_input: 'schema'", "must be null or a JSON schema object")
    title = message.get("title")
    if title is not None and not (type(title) is str and len(title) <= MAX_NAME):
        _fail("submit_input: 'title'", f"must be null or a string of at most {MAX_NAME} characters")
    actions = message.get("actions")
    if actions is not None and not (
        type(actions) is list
        and len(actions) == 2
        and all(type(label) is str and 0 < len(label) <= MAX_NAME for label in actions)
    ):
        _fail("submit_input: 'actions'", "must be null or [respond label, dismiss label]")
    _optional(message.get("requires"), _check_tags, "submit_input: 'requires'")


def _targets(message: dict[str, Any]) -> None:
    _check_execution(message["execution"], f"{message['type']}: 'execution'")
    _check_ids(message["targets"], f"{message['type']}: 'targets'")


def _result(message: dict[str, Any]) -> None:
    _check_execution(message["execution"], "result: 'execution'")
    result = message["result"]
    kind = result.get("type")
    if kind == "value":
        check_value(result.get("value"), "result: the value")
    elif kind == "error":
        _check_error(result.get("error"))
    elif kind == "suspended":
        after = result.get("after")
        if after is not None and not (_is_int(after) and 0 <= after < MAX_TIMESTAMP_MS):
            _fail("result: 'after' of a suspension", "must be epoch milliseconds (1970-9999)")
        _check_ids(result.get("dependencies", []), "result: 'dependencies' of a suspension")
    elif type(kind) is not str or kind not in RESULT_TYPES:
        _fail("result: unknown result type", repr(kind)[:80])


def _check_error(error: Any) -> None:
    if type(error) is not dict:
        _fail("result: 'error'", "must be an object with type, message and frames")
    _check_name(error.get("type"), "result: the error's type")
    if type(error.get("message")) is not str:
        _fail("result: the error's message", "must be a string")
    if type(error.get("retryable")) not in (bool, type(None)):
        _fail("result: the error's 'retryable'", "must be a boolean or null")
    for frame in _check_list(error.get("frames", []), "result: the error's frames"):
        if not (
            type(frame) is dict
            and type(frame.get("file")) is str
            and type(frame.get("name")) is str
            and type(frame.get("line")) in (int, type(None))
            and type(frame.get("code")) in (str, type(None))
        ):
            _fail("result: each frame", "must be {file, line, name, code}")


def _log(message: dict[str, Any]) -> None:
    _check_execution(message["execution"], "log: 'execution'")
    for entry in _check_list(message["entries"], "log: 'entries'", MAX_ENTRIES):
        if type(entry) is not list or len(entry) != 4:
            _fail("log: each entry", "must be [timestamp_ms, level, template, values]")
        timestamp, level, template, values = entry
        _check_timestamp(timestamp, "log: an entry's timestamp")
        if not (_is_int(level) and level in LEVELS):
            _fail("log: an entry's level", f"must be one of {list(LEVELS)}")
        if type(template) is not str:
            _fail("log: an entry's template", "must be a string")
        if type(values) is not dict or len(values) > MAX_ITEMS:
            _fail("log: an entry's values", "must be an object of values")
        for value in values.values():
            check_value(value, "log: a value")


def _metric(message: dict[str, Any]) -> None:
    _check_execution(message["execution"], "metric: 'execution'")
    for definition in _check_list(message["definitions"], "metric: 'definitions'", MAX_ENTRIES):
        if type(definition) is not dict or not _is_metric_key(definition.get("key")):
            _fail("metric: a definition", f"needs a key of 1 to {MAX_METRIC_KEY} characters")
        _check_axis(definition.get("group"), _GROUP_FIELDS, "group")
        _check_axis(definition.get("scale"), _SCALE_FIELDS, "scale")
        throttle = definition.get("throttle")
        if throttle is not None and not (_is_number(throttle) and throttle > 0):
            _fail("metric: throttle", "must be a positive number or null")
    for point in _check_list(message["points"], "metric: 'points'", MAX_ENTRIES):
        if not (
            type(point) is list
            and len(point) == 3
            and _is_metric_key(point[0])
            and _is_number(point[1])
            and _is_number(point[2])
        ):
            _fail("metric: a point", "is [key, value, at] with finite numbers")


_GROUP_FIELDS: dict[str, Any] = {
    "name": (str,),
    "units": (str, type(None)),
    "lower": None,
    "upper": None,
}
_SCALE_FIELDS: dict[str, Any] = {**_GROUP_FIELDS, "name": (str, type(None)), "progress": (bool,)}


def _is_metric_key(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_METRIC_KEY


def _check_axis(axis: Any, fields: dict[str, Any], what: str) -> None:
    if axis is None:
        return
    if type(axis) is not dict or set(axis) != set(fields):
        _fail(f"metric: a {what}", f"is null or an object with {sorted(fields)}")
    for field, types in fields.items():
        value = axis[field]
        valid = (value is None or _is_number(value)) if types is None else type(value) in types
        if not valid or (field == "name" and value == ""):
            _fail(f"metric: {what} field {field!r}", "has the wrong type")


def _heartbeat(message: dict[str, Any]) -> None:
    for execution in _check_list(message["executions"], "heartbeat: 'executions'"):
        _check_execution(execution, "heartbeat: each execution")


def _nothing(message: dict[str, Any]) -> None:
    pass


WORKER_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "hello": _hello,
    "started": _execution_only,
    "submit": _submit,
    "submit_input": _submit_input,
    "wait": _targets,
    "cancel": _targets,
    "result": _result,
    "log": _log,
    "metric": _metric,
    "heartbeat": _heartbeat,
    "waiting": _execution_only,
    "declined": _execution_only,
    "draining": _nothing,
}
"""The checks of each worker message beyond its fields' JSON types (``protocol.FIELDS``)."""
