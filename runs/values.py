"""Converting plain JSON (from the CLI, the API, Studio forms) to the value format of the wire.

The format is ``coflux.serialization``'s: an inline value whose data is JSON in which objects
are written as ``{"type": "dict", "items": [k1, v1, k2, v2, ...]}`` (keys sorted by ``repr``,
as the SDK sorts them, so that equal dicts give equal cache keys) and lists stay lists.
"""

from __future__ import annotations

from typing import Any


def from_plain_json(value: Any) -> dict[str, Any]:
    """The inline wire value holding the plain JSON value ``value``."""
    return {"type": "inline", "format": "json", "data": _encode(value), "refs": []}


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        items: list[Any] = []
        for key, item in sorted(value.items(), key=lambda pair: repr(pair[0])):
            items += [key, _encode(item)]
        return {"type": "dict", "items": items}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def describe(value: Any) -> Any:
    """A wire value as plain JSON for people to read, without fetching or decoding anything.

    Inline data becomes the JSON it stands for (dicts with string keys objects, other dicts
    lists of pairs, tuples and sets lists, dates and numbers their text); a value kept as a blob
    is ``{"blob": key, "size": n}``; references are ``{"execution": id}``, ``{"asset": id,
    "name", "count", "size"}`` and, for fragments, ``{"fragment": format, "key", "size"}``
    plus the pickled ``type`` or the pydantic ``model``. The server never unpickles anything.
    """
    if not isinstance(value, dict):
        return None
    refs = [_describe_ref(ref) for ref in value.get("refs") or []]
    if value.get("type") == "blob":
        blob = {"blob": value.get("key"), "size": value.get("size")}
        return {**blob, "refs": refs} if refs else blob
    return _describe(value.get("data"), refs)


def _describe_ref(ref: Any) -> Any:
    if not isinstance(ref, dict):
        return None
    kind = ref.get("type")
    if kind == "execution":
        return {"execution": ref.get("id")}
    if kind == "asset":
        return {key: ref.get(key) for key in ("name", "count", "size")} | {"asset": ref.get("id")}
    if kind == "fragment":
        described = {"fragment": ref.get("format"), "key": ref.get("key"), "size": ref.get("size")}
        metadata = ref.get("metadata") or {}
        for key in ("type", "model"):
            if isinstance(metadata, dict) and key in metadata:
                described[key] = metadata[key]
        return described
    return {"reference": kind}


def _describe(data: Any, refs: list[Any]) -> Any:
    if isinstance(data, list):
        return [_describe(item, refs) for item in data]
    if not isinstance(data, dict):
        return data
    kind = data.get("type")
    if kind == "dict":
        items = [_describe(item, refs) for item in data.get("items") or []]
        pairs = list(zip(items[::2], items[1::2], strict=False))
        if all(isinstance(key, str) for key, _ in pairs):
            return dict(pairs)
        return [list(pair) for pair in pairs]
    if kind in ("tuple", "set", "frozenset"):
        return [_describe(item, refs) for item in data.get("items") or []]
    if kind == "ref":
        index = data.get("index")
        return refs[index] if isinstance(index, int) and 0 <= index < len(refs) else None
    return data.get("value")
