"""Checking the shape of API request bodies; failures are 400 ``invalid_request``."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from coflux_server.api_errors import ApiError


class InvalidRequest(ApiError):
    code = "invalid_request"


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
