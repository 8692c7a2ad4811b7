"""Checking the shape of API request bodies and query values; failures are 400
``invalid_request``."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from typing import Any

from coflux_wire.values import MAX_INT, is_safe_text
from projects.errors import Code, DomainError


class InvalidRequest(DomainError):
    code = Code.INVALID_REQUEST


def check_text(value: str, where: str) -> str:
    """``value`` if the database can store it, else refused naming ``where`` ("the path").

    PostgreSQL refuses NUL in text, and neither database can encode a lone surrogate
    (``"\\ud800"``, which JSON may escape) in UTF-8: refused on both, before any query, by
    the rule the worker protocol applies (``coflux_wire.values.is_safe_text``).
    """
    if not is_safe_text(value):
        raise InvalidRequest(f"Text in {where} may not contain NUL (U+0000) or a lone surrogate.")
    return value


_DIGITS = re.compile(r"[0-9]{1,19}")


def query_int(raw: str | None, message: str, maximum: int = MAX_INT) -> int | None:
    """``raw`` as a whole number from 0 to ``maximum``, None if absent or empty, else refused
    with ``message``.

    Only ASCII digits count: ``int`` would also take ``²`` or ``٣``, and the database no number
    beyond 64 bits.
    """
    if raw is None or raw == "":
        return None
    if _DIGITS.fullmatch(raw) is None or int(raw) > maximum:
        raise InvalidRequest(message)
    return int(raw)


def json_object(
    data: Any, allowed: Collection[str], required: Collection[str] = ()
) -> dict[str, Any]:
    """``data`` if it is an object with only ``allowed`` fields and all ``required`` ones.

    An empty body counts as ``{}``.
    """
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    unknown = set(data) - set(allowed)
    if unknown:
        raise InvalidRequest(f"Unknown field {sorted(unknown)[0]!r}.")
    missing = [name for name in required if name not in data]
    if missing:
        raise InvalidRequest(f"Missing field {missing[0]!r}.")
    return dict(data)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite JSON number (booleans are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_integer(value: Any) -> bool:
    """Whether ``value`` is a JSON integer (``3``, not ``3.0`` nor ``true``)."""
    return isinstance(value, int) and not isinstance(value, bool)
