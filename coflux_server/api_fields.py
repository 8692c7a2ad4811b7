"""Serializer fields and a base serializer for API request bodies and query strings that take
JSON as it is written.

DRF's fields coerce: ``IntegerField`` takes ``"5"`` and ``2.0``, ``BooleanField`` takes
``"yes"`` and ``1``, ``CharField`` takes ``3`` and trims spaces. A client that sends the wrong
type has a bug it should hear of, and the OpenAPI schema says ``integer``: the body fields here
take only the JSON type they declare. Query strings are text, so ``QueryInteger`` parses ASCII
digits only (``int`` would also take ``²`` or ``٣``). ``StrictSerializer`` refuses fields it does
not know rather than ignoring a misspelt one. Failures are 400 ``invalid_request`` with the
failing fields in ``details`` (``coflux_server.api_errors``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from rest_framework import serializers

from coflux_wire.values import MAX_INT


class StrictSerializer(serializers.Serializer):
    """A request body (or query string): an object with only the declared fields."""

    default_error_messages = {"invalid": "Expected a JSON object, but got {datatype}."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class NoBodySerializer(StrictSerializer):
    """No fields: an empty body or ``{}``."""


class QuerySerializer(StrictSerializer):
    """A query string: each parameter given once, as text (``request.query_params``)."""

    def to_internal_value(self, data: Any) -> Any:
        flat = {key: data.get(key) for key in data} if hasattr(data, "getlist") else data
        return super().to_internal_value(flat)


class Text(serializers.CharField):
    """A JSON string, taken as written (no number coerced, no space trimmed)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        if not kwargs.get("allow_blank") and kwargs.get("min_length") is None:
            # Said in the schema too (DRF's allow_blank=False alone is not).
            kwargs["min_length"] = 1
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Integer(serializers.IntegerField):
    """A JSON integer: ``3``, not ``3.0``, ``"3"`` nor ``true``."""

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class Number(serializers.FloatField):
    """A finite JSON number (not a string, not a boolean)."""

    def to_internal_value(self, data: Any) -> float:
        if not isinstance(data, int | float) or isinstance(data, bool):
            self.fail("invalid")
        if not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    """``true`` or ``false``."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class NonEmptyObject(serializers.DictField):
    """A JSON object with at least one member (``minProperties: 1`` in the schema)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["allow_empty"] = False
        super().__init__(**kwargs)


class Object(serializers.DictField):
    """A JSON object of any values."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return super().to_internal_value(data)


_DIGITS = re.compile(r"[0-9]{1,19}")


class QueryInteger(serializers.IntegerField):
    """A whole number in a query string, from ASCII digits, at most 64 bits."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_INT)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or _DIGITS.fullmatch(data) is None:
            self.fail("invalid")
        return super().to_internal_value(data)


def tags(**kwargs: Any) -> serializers.DictField:
    """Tags: ``{key: [value, …]}`` with non-empty keys and values (``provides``, ``requires``)."""
    return TagsField(child=serializers.ListField(child=Text(min_length=1)), **kwargs)


class TagsField(serializers.DictField):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        bad = [key for key in data if not key or len(key) > 100]
        if bad:
            raise serializers.ValidationError(
                {key: ["A tag name has 1 to 100 characters."] for key in bad}
            )
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """``data`` (a request's body or query parameters) checked against ``serializer_class``;
    400 ``invalid_request`` naming the failing fields otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
