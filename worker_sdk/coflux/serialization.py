"""The value format: how arguments, results and log values cross the wire (SPEC §4).

A value is ``{"type": "inline", "format": "json", "data": …, "refs": […]}``. ``data`` is JSON in
which every object is a typed wrapper, so plain JSON lists, strings, numbers, booleans and null
stand for themselves and nothing is ambiguous::

    {"type": "dict", "items": [k1, v1, k2, v2, …]}     any keys; sorted by repr(key)
    {"type": "tuple" | "set" | "frozenset", "items": […]}
    {"type": "datetime" | "date" | "time", "value": isoformat}
    {"type": "duration", "value": seconds}
    {"type": "decimal" | "uuid", "value": str}
    {"type": "bytes", "value": base64}
    {"type": "float", "value": "nan" | "inf" | "-inf"}  floats JSON cannot hold
    {"type": "ref", "index": i}                         points into ``refs``

A ref to an execution is ``{"type": "execution", "id", "module", "target"}`` and decodes to a
live ``Execution`` handle. Types beyond these raise ``TypeError``.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import uuid
from collections import OrderedDict
from typing import Any

from .execution import Execution

_PLAIN = (str, int, bool, type(None))
_DATES = {"datetime": dt.datetime, "date": dt.date, "time": dt.time}


def serialize(value: Any) -> dict[str, Any]:
    """Encode a Python value in the value format."""
    refs: list[dict[str, Any]] = []
    data = _encode(value, refs)
    return {"type": "inline", "format": "json", "data": data, "refs": refs}


def deserialize(value: dict[str, Any]) -> Any:
    """Decode a value made by ``serialize`` (or by the server in the same format)."""
    kind = value.get("type")
    if kind != "inline" or value.get("format", "json") != "json":
        raise ValueError(f"unsupported value: type {kind!r}, format {value.get('format')!r}")
    refs = [_decode_ref(ref) for ref in value.get("refs") or []]
    return _decode(value.get("data"), refs)


def _sorted_by_repr(items: Any) -> list[Any]:
    return sorted(items, key=repr)


def _encode(value: Any, refs: list[dict[str, Any]]) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return {"type": "float", "value": "nan" if math.isnan(value) else str(value)}
    if kind is list:
        return [_encode(item, refs) for item in value]
    if kind is dict or kind is OrderedDict:
        keys = list(value) if kind is OrderedDict else _sorted_by_repr(value)
        items: list[Any] = []
        for key in keys:
            items.append(_encode(key, refs))
            items.append(_encode(value[key], refs))
        return {"type": "dict", "items": items}
    if kind is tuple:
        return {"type": "tuple", "items": [_encode(item, refs) for item in value]}
    if kind is set or kind is frozenset:
        return {
            "type": kind.__name__,
            "items": [_encode(item, refs) for item in _sorted_by_repr(value)],
        }
    if kind is dt.datetime or kind is dt.date or kind is dt.time:
        return {"type": kind.__name__, "value": value.isoformat()}
    if kind is dt.timedelta:
        return {"type": "duration", "value": _duration_seconds(value)}
    if kind is decimal.Decimal:
        return {"type": "decimal", "value": str(value)}
    if kind is uuid.UUID:
        return {"type": "uuid", "value": str(value)}
    if kind is bytes or kind is bytearray:
        return {"type": "bytes", "value": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Execution):
        return {"type": "ref", "index": _add_ref(refs, _execution_ref(value))}
    raise TypeError(f"cannot serialize a value of type {kind.__module__}.{kind.__qualname__}")


def _duration_seconds(value: dt.timedelta) -> int | float:
    # Whole seconds stay integers (exact at any size); otherwise a float, exact to the
    # microsecond for durations up to about 140 years.
    if value.microseconds == 0:
        return value.days * 86400 + value.seconds
    return value.total_seconds()


def _execution_ref(execution: Execution[Any]) -> dict[str, Any]:
    return {
        "type": "execution",
        "id": execution.id,
        "module": execution.module,
        "target": execution.target,
    }


def _add_ref(refs: list[dict[str, Any]], ref: dict[str, Any]) -> int:
    if ref in refs:
        return refs.index(ref)
    refs.append(ref)
    return len(refs) - 1


def _decode_ref(ref: dict[str, Any]) -> Any:
    if ref.get("type") == "execution":
        return Execution.reference(ref["id"], ref.get("module"), ref.get("target"))
    raise ValueError(f"unsupported reference type {ref.get('type')!r}")


def _decode(data: Any, refs: list[Any]) -> Any:
    if isinstance(data, list):
        return [_decode(item, refs) for item in data]
    if not isinstance(data, dict):
        return data
    kind = data.get("type")
    if kind == "dict":
        items = [_decode(item, refs) for item in data["items"]]
        return dict(zip(items[::2], items[1::2], strict=True))
    if kind == "tuple":
        return tuple(_decode(item, refs) for item in data["items"])
    if kind == "set":
        return {_decode(item, refs) for item in data["items"]}
    if kind == "frozenset":
        return frozenset(_decode(item, refs) for item in data["items"])
    if kind in _DATES:
        return _DATES[kind].fromisoformat(data["value"])
    if kind == "duration":
        return dt.timedelta(seconds=data["value"])
    if kind == "decimal":
        return decimal.Decimal(data["value"])
    if kind == "uuid":
        return uuid.UUID(data["value"])
    if kind == "bytes":
        return base64.b64decode(data["value"])
    if kind == "float":
        return float(data["value"])
    if kind == "ref":
        return refs[data["index"]]
    raise ValueError(f"unknown value wrapper {kind!r}")


def to_json(value: Any) -> Any:
    """Render a decoded value as plain JSON for display; lossy where JSON has no equivalent.

    Dicts with string keys become objects (other dicts a list of ``[key, value]`` pairs),
    tuples and sets lists, dates ISO strings, durations seconds, execution handles
    ``{"execution": id}``; anything else its ``repr``.
    """
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: to_json(item) for key, item in value.items()}
        return [[to_json(key), to_json(item)] for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [to_json(item) for item in _sorted_by_repr(value)]
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Execution):
        return {"execution": value.id}
    return repr(value)
