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
