"""The value format's data for the kinds JSON has: shared by the SDK and the server.

A value's ``data`` is JSON in which every object is a typed wrapper (see
``coflux._serialization`` for the whole format). This module encodes the kinds plain JSON holds
(``None``, booleans, numbers, strings, lists and dicts), so that a value the server makes from
plain JSON (from the API or the CLI) and the same value made by the SDK are identical, and so
are their cache keys. The SDK extends ``DataEncoder`` with the kinds JSON lacks.

What JSON, PostgreSQL or the protocol cannot carry travels in a wrapper, so that no legitimate
value is refused at the protocol boundary (``coflux_wire.checks``)::

    {"type": "dict", "items": [k1, v1, k2, v2, …]}      keys sorted by repr(key)
    {"type": "float", "value": "nan" | "inf" | "-inf"}  floats JSON cannot hold
    {"type": "int", "value": "…"}                       integers beyond signed 64 bits, as
                                                        text ("0x…" past Python's digit limit)
    {"type": "str", "chunks": ["a", 0, "b"]}            text holding characters that neither
                                                        JSON text in a database nor UTF-8 can:
                                                        NUL and lone surrogates, each as its
                                                        code point between the text around it
"""

from __future__ import annotations

import math
import re
from typing import Any

MIN_INT = -(2**63)
MAX_INT = 2**63 - 1
"""Integers outside signed 64 bits are not plain JSON on the wire: databases and JSON parsers
(orjson among them) cannot all hold them."""

UNSAFE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
"""Characters a string on the wire must not hold: NUL (PostgreSQL refuses it in text and jsonb)
and lone surrogates (not UTF-8)."""


def is_safe_text(text: str) -> bool:
    if "\x00" in text:
        return False
    return text.isascii() or UNSAFE_CHARACTER.search(text) is None


def encode_text(text: str) -> Any:
    """``text`` itself, or a ``str`` wrapper if it holds an unsafe character."""
    if is_safe_text(text):
        return text
    chunks: list[str | int] = []
    start = 0
    for match in UNSAFE_CHARACTER.finditer(text):
        if match.start() > start:
            chunks.append(text[start : match.start()])
        chunks.append(ord(match.group()))
        start = match.end()
    if start < len(text):
        chunks.append(text[start:])
    return {"type": "str", "chunks": chunks}


def encode_int(number: int) -> Any:
    if MIN_INT <= number <= MAX_INT:
        return number
    try:
        text = str(number)
    except ValueError:
        # More digits than Python converts to decimal (sys.set_int_max_str_digits): hexadecimal
        # has no such limit.
        text = hex(number)
    return {"type": "int", "value": text}


def encode_float(number: float) -> Any:
    if math.isfinite(number):
        return number
    return {"type": "float", "value": "nan" if math.isnan(number) else str(number)}


class DataEncoder:
    """Python values to the value format's data; ``encode_other`` takes the kinds JSON lacks
    (here: none, it raises ``TypeError``)."""

    def encode(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return encode_text(value)
        if kind is int:
            return encode_int(value)
        if kind is bool or value is None:
            return value
        if kind is float:
            return encode_float(value)
        if kind is list:
            return [self.encode(item) for item in value]
        if kind is dict:
            items: list[Any] = []
            for key in sorted(value, key=repr):
                items.append(self.encode(key))
                items.append(self.encode(value[key]))
            return {"type": "dict", "items": items}
        return self.encode_other(value)

    def encode_other(self, value: Any) -> Any:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


MAX_DATA_DEPTH = 64
"""How deeply an inline value's data may nest; the SDK puts deeper data in a blob. It leaves
room for the message around the value within the protocol's ``MAX_DEPTH``."""

SCALAR_WRAPPERS = frozenset({"str", "int", "float"})
"""The wrappers of this module that stand for one scalar (``decode_scalar`` reads them)."""


def decode_scalar(wrapper: dict[str, Any]) -> Any:
    """The string or number a ``str``, ``int`` or ``float`` wrapper stands for."""
    kind = wrapper["type"]
    if kind == "str":
        return "".join(c if isinstance(c, str) else chr(c) for c in wrapper["chunks"])
    if kind == "int":
        return int(wrapper["value"], 0)
    return float(wrapper["value"])


def from_plain_json(value: Any) -> dict[str, Any]:
    """The inline wire value holding the plain JSON value ``value`` (from the API or the CLI),
    exactly as the SDK encodes it."""
    return {"type": "inline", "format": "json", "data": DataEncoder().encode(value), "refs": []}


def depth(data: Any, limit: int) -> int:
    """How deeply lists and objects nest in ``data`` (a scalar: 0), counting no further than
    ``limit + 1``: a value too deep costs no more than one just deep enough."""
    deepest = 0
    level: list[Any] = [data]
    while level and deepest <= limit:
        inner: list[Any] = []
        nested = False
        for item in level:
            kind = type(item)
            if kind is list:
                nested = True
                inner.extend(item)
            elif kind is dict:
                nested = True
                inner.extend(item.values())
        if not nested:
            break
        deepest += 1
        level = inner
    return deepest
