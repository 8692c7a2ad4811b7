"""The schema says what ``coflux_server.api_fields`` enforces beyond DRF's own fields: a
request body (or query string) with a field it does not declare is refused, so its object
schema has ``additionalProperties: false``; a ``NonEmptyObject`` has ``minProperties: 1``.
Registered with drf-spectacular on import (``coflux_server.api_docs`` imports it)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension

from coflux_server.api_fields import NonEmptyObject, StrictSerializer


class StrictSerializerExtension(OpenApiSerializerExtension):
    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


class NonEmptyObjectExtension(OpenApiSerializerFieldExtension):
    target_class = NonEmptyObject
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["minProperties"] = 1
        return schema
