"""Values in the wire format on the server: made from plain JSON, and described for people.

Plain JSON from the CLI, the API or Studio's forms becomes a value through
``coflux_wire.values.from_plain_json``, the same code the SDK encodes with, so that equal values
give equal cache keys whoever sent them.
"""

from __future__ import annotations

from typing import Any

from coflux_wire.values import from_plain_json

__all__ = ["describe", "from_plain_json"]


def describe(value: Any) -> Any:
    """A wire value as plain JSON for people to read, without fetching or decoding anything.

    Inline data becomes the JSON it stands for (dicts with string keys objects, other dicts
    lists of pairs, tuples and sets lists, dates, numbers beyond JSON and decimals their text,
    strings holding NUL or lone surrogates with U+FFFD for those); a value kept as a blob
    is ``{"blob": key, "size": n}``; references are ``{"execution": id}``, ``{"input": id}``,
    ``{"asset": id, "name", "count", "size"}`` and, for fragments, ``{"fragment": format,
    "key", "size"}`` plus the pickled ``type`` or the pydantic ``model``. The server never
    unpickles anything.
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
    if kind == "input":
        return {"input": ref.get("id")}
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
    if kind == "str":
        # NUL and lone surrogates shown as U+FFFD: a page or a terminal could not take them.
        chunks = data.get("chunks") or []
        return "".join(c if isinstance(c, str) else "\ufffd" for c in chunks)
    return data.get("value")
