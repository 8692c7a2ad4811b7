"""The value format: how arguments, results and log values cross the wire (SPEC §4).

A value is inline, ``{"type": "inline", "format": "json", "data": …, "refs": […]}``, or, when its
encoded data is larger than the blob threshold (``[blobs] threshold``, default 200 bytes; 0:
always), a blob holding that data as JSON: ``{"type": "blob", "key", "size", "refs"}``. A value
that is ``None`` is always inline. ``data`` is JSON in which every object is a typed wrapper, so
plain JSON lists, strings, numbers, booleans and null stand for themselves::

    {"type": "dict", "items": [k1, v1, k2, v2, …]}     any keys; sorted by repr(key)
    {"type": "tuple" | "set" | "frozenset", "items": […]}
    {"type": "datetime" | "date" | "time", "value": isoformat}
    {"type": "duration", "value": seconds}
    {"type": "decimal" | "uuid", "value": str}
    {"type": "float", "value": "nan" | "inf" | "-inf"}  floats JSON cannot hold
    {"type": "int", "value": "…"}                       integers beyond signed 64 bits
    {"type": "str", "chunks": ["a", 0, "b"]}            text with NUL or lone surrogates
    {"type": "ref", "index": i}                         points into ``refs``

The kinds plain JSON has (and the ``dict``, ``float``, ``int`` and ``str`` wrappers) are encoded
by ``coflux_wire.values``, which the server uses too: a plain JSON value submitted through the
API is the same value, with the same cache keys, as when a task passes it. Inline data nests at
most ``MAX_DATA_DEPTH`` levels; deeper data is kept as a blob, like large data.

References are what is not JSON. Each decodes to a live object::

    {"type": "execution", "id", "module", "target"}     an ``Execution`` handle
    {"type": "input", "id"}                             an ``Input`` handle
    {"type": "asset", "id", "name", "count", "size"}    an ``Asset``
    {"type": "fragment", "format", "key", "size", "metadata"}
        a blob holding one value in another encoding, by format:
        bytes    bytes (metadata {"type": "bytearray"} for a bytearray)
        json     a pydantic model, metadata {"model": "pkg.mod.Class"}, read back with
                 ``model_validate_json``
        parquet  a pandas DataFrame (when pandas can write Parquet)
        pickle   anything else, metadata {"type": "pkg.mod.Class"}; a value that cannot be
                 pickled raises ``TypeError``

Blobs are written to and read from the process's blob stores (``coflux._blobs``). The server
stores values as they are: it never decodes fragments, let alone unpickles them.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import importlib
import io
import json
import math
import pickle
import sys
import uuid
from collections import OrderedDict
from typing import Any

from coflux_wire.values import MAX_DATA_DEPTH, SCALAR_WRAPPERS, DataEncoder, decode_scalar, depth

from . import _blobs
from ._assets import Asset
from ._blobs import Blobs
from ._execution import Execution
from ._input import Input

_PLAIN = (str, int, bool, type(None))
_DATES = {"datetime": dt.datetime, "date": dt.date, "time": dt.time}
PICKLE_PROTOCOL = 5


def serialize(value: Any, *, blobs: Blobs | None = None) -> dict[str, Any]:
    """Encode a Python value in the value format; ``blobs`` defaults to the process's."""
    encoder = _Encoder(blobs)
    data = encoder.encode(value)
    if value is not None:
        threshold = blobs.threshold if blobs is not None else _blobs.threshold()
        if not _surely_within(data, threshold):
            text = _compact(data)
            if (
                threshold == 0
                or len(text) > threshold
                or depth(data, MAX_DATA_DEPTH) > MAX_DATA_DEPTH
            ):
                key = encoder.blobs().put(text)
                return {"type": "blob", "key": key, "size": len(text), "refs": encoder.refs}
    return {"type": "inline", "format": "json", "data": data, "refs": encoder.refs}


def is_plain(value: Any) -> bool:
    """Whether ``value`` encodes as data alone: no fragments (so no blob store) and no
    references. Such values can be shown as JSON (``to_json``) without loss of kind."""
    encoder = _Encoder(None, plain=True)
    try:
        encoder.encode(value)
    except _NotPlain:
        return False
    return not encoder.refs


class _NotPlain(Exception):
    pass


def _surely_within(data: Any, threshold: int) -> bool:
    """Whether the encoded data is within the threshold without encoding it (most values)."""
    if threshold == 0:
        return False
    kind = type(data)
    if kind is bool or kind is float:
        return threshold >= 32
    if kind is int:
        return threshold >= 32 and -(10**15) < data < 10**15
    if kind is str:
        # A character takes at most 6 bytes in JSON (``\u001f``), plus the quotes.
        return 6 * len(data) + 2 <= threshold
    return False


def deserialize(value: dict[str, Any], *, blobs: Blobs | None = None) -> Any:
    """Decode a value made by ``serialize`` (or by the server in the same format)."""
    kind = value.get("type")
    decoder = _Decoder(blobs)
    if kind == "inline" and value.get("format", "json") == "json":
        data = value.get("data")
    elif kind == "blob":
        data = json.loads(decoder.blobs().get(value["key"]))
    else:
        raise ValueError(f"unsupported value: type {kind!r}, format {value.get('format')!r}")
    refs = [decoder.reference(ref) for ref in value.get("refs") or []]
    return _decode(data, refs)


def _compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _sorted_by_repr(items: Any) -> list[Any]:
    return sorted(items, key=repr)


def qualified_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _import_qualified(name: str) -> Any:
    """The object a qualified name names: the longest importable module, then attributes."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(f"cannot import {name!r}")


def _is_pydantic_model(value: Any) -> bool:
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def _is_data_frame(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and type(value) is pandas.DataFrame


class _Encoder(DataEncoder):
    def __init__(self, blobs: Blobs | None, *, plain: bool = False) -> None:
        self._blobs = blobs
        self._plain = plain
        self.refs: list[dict[str, Any]] = []

    def blobs(self) -> Blobs:
        if self._blobs is None:
            self._blobs = _blobs.current()
        return self._blobs

    def add_ref(self, ref: dict[str, Any]) -> dict[str, Any]:
        if ref in self.refs:
            index = self.refs.index(ref)
        else:
            self.refs.append(ref)
            index = len(self.refs) - 1
        return {"type": "ref", "index": index}

    def fragment(self, format: str, content: bytes, metadata: dict[str, Any]) -> dict[str, Any]:
        if self._plain:
            raise _NotPlain
        key = self.blobs().put(content)
        return self.add_ref(
            {
                "type": "fragment",
                "format": format,
                "key": key,
                "size": len(content),
                "metadata": metadata,
            }
        )

    def encode_other(self, value: Any) -> Any:
        kind = type(value)
        if kind is OrderedDict:
            items: list[Any] = []
            for key, item in value.items():
                items.append(self.encode(key))
                items.append(self.encode(item))
            return {"type": "dict", "items": items}
        if kind is tuple:
            return {"type": "tuple", "items": [self.encode(item) for item in value]}
        if kind is set or kind is frozenset:
            return {
                "type": kind.__name__,
                "items": [self.encode(item) for item in _sorted_by_repr(value)],
            }
        if kind is dt.datetime or kind is dt.date or kind is dt.time:
            return {"type": kind.__name__, "value": value.isoformat()}
        if kind is dt.timedelta:
            return {"type": "duration", "value": _duration_seconds(value)}
        if kind is decimal.Decimal:
            return {"type": "decimal", "value": str(value)}
        if kind is uuid.UUID:
            return {"type": "uuid", "value": str(value)}
        if kind is bytes:
            return self.fragment("bytes", value, {})
        if kind is bytearray:
            return self.fragment("bytes", bytes(value), {"type": "bytearray"})
        if isinstance(value, Execution):
            return self.add_ref(_execution_ref(value))
        if isinstance(value, Input):
            return self.add_ref({"type": "input", "id": value.id})
        if isinstance(value, Asset):
            return self.add_ref(value._reference())
        if self._plain:
            raise _NotPlain
        if _is_pydantic_model(value):
            content = value.model_dump_json().encode()
            return self.fragment("json", content, {"model": qualified_name(kind)})
        if _is_data_frame(value):
            parquet = _parquet(value)
            if parquet is not None:
                return self.fragment("parquet", parquet, {})
        return self.fragment("pickle", _pickle(value), {"type": qualified_name(kind)})


def _pickle(value: Any) -> bytes:
    try:
        return pickle.dumps(value, protocol=PICKLE_PROTOCOL)
    except Exception as exc:
        raise TypeError(
            f"cannot serialize a value of type {qualified_name(type(value))}: "
            f"it has no encoding of its own and cannot be pickled ({exc})"
        ) from exc


def _parquet(frame: Any) -> bytes | None:
    """The frame as Parquet, or ``None`` if it cannot be (no engine, column names that are not
    strings, …): it is pickled instead."""
    # Parquet names columns with strings: other names would come back changed.
    if not all(type(column) is str for column in frame.columns):
        return None
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer)
    except Exception:
        return None
    return buffer.getvalue()


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


class _Decoder:
    def __init__(self, blobs: Blobs | None) -> None:
        self._blobs = blobs

    def blobs(self) -> Blobs:
        if self._blobs is None:
            self._blobs = _blobs.current()
        return self._blobs

    def reference(self, ref: dict[str, Any]) -> Any:
        kind = ref.get("type")
        if kind == "execution":
            return Execution.reference(ref["id"], ref.get("module"), ref.get("target"))
        if kind == "input":
            return Input(ref["id"])
        if kind == "asset":
            return Asset.reference(ref["id"], ref.get("name"), ref["count"], ref["size"])
        if kind == "fragment":
            return self.fragment(ref)
        raise ValueError(f"unsupported reference type {kind!r}")

    def fragment(self, ref: dict[str, Any]) -> Any:
        format = ref.get("format")
        metadata = ref.get("metadata") or {}
        if format not in ("bytes", "json", "parquet", "pickle"):
            raise ValueError(f"unsupported fragment format {format!r}")
        content = self.blobs().get(ref["key"])
        if format == "bytes":
            return bytearray(content) if metadata.get("type") == "bytearray" else content
        if format == "json":
            return _import_qualified(metadata["model"]).model_validate_json(content)
        if format == "parquet":
            import pandas

            return pandas.read_parquet(io.BytesIO(content))
        return pickle.loads(content)


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
        # Values written before bytes became fragments.
        return base64.b64decode(data["value"])
    if kind in SCALAR_WRAPPERS:
        return decode_scalar(data)
    if kind == "ref":
        return refs[data["index"]]
    raise ValueError(f"unknown value wrapper {kind!r}")


def to_json(value: Any) -> Any:
    """Render a decoded value as plain JSON for display; lossy where JSON has no equivalent.

    Dicts with string keys become objects (other dicts a list of ``[key, value]`` pairs),
    tuples and sets lists, dates ISO strings, durations seconds, bytes base64, execution
    handles ``{"execution": id}``, assets ``{"asset": id}``, pydantic models their JSON;
    anything else its ``repr``.
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
    if isinstance(value, Input):
        return {"input": value.id}
    if isinstance(value, Asset):
        return {"asset": value.id}
    if _is_pydantic_model(value):
        return to_json(json.loads(value.model_dump_json()))
    return repr(value)
