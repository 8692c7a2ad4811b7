"""What the OpenAPI schema (``/api/schema/``) says of failures: the error body, and for each
endpoint the codes it may answer, grouped under their HTTP status (``api_errors.STATUS``).

A view lists its own codes with ``errors(...)``; ``PROJECT`` (every path under a project) and
``BODY`` (every endpoint that reads a JSON body) name the refusals that come before the view's
own work: by the path and query middleware, the JSON parser and the project lookup.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from coflux_server.api_errors import status_of
from projects.errors import Code


class ErrorSerializer(serializers.Serializer):
    """Every failure: a code from one list, a message for people, and sometimes details."""

    error = serializers.ChoiceField(choices=[code.value for code in Code])
    message = serializers.CharField()
    details = serializers.DictField(
        required=False,
        help_text="What the failure concerns; for invalid_request, each failing field's path "
        "and its messages.",
    )


ACCESS: tuple[Code, ...] = (Code.UNAUTHORIZED, Code.FORBIDDEN, Code.THROTTLED)
"""No valid credentials (``coflux_server.request_auth``), no grant for the workspace acted in
(``projects.permissions``), too many failed tokens from one address: on every path."""
PROJECT: tuple[Code, ...] = (*ACCESS, Code.PROJECT_NOT_FOUND, Code.INVALID_REQUEST)
"""The door's refusals, an unknown project; text in the path or query string a database
cannot store."""
BODY: tuple[Code, ...] = (
    Code.INVALID_JSON,
    Code.INVALID_REQUEST,
    Code.REQUEST_TOO_LARGE,
    Code.UNSUPPORTED_MEDIA_TYPE,
)
"""A body that is not JSON, does not fit its declared shape, is too large, or is not JSON's
media type."""


def errors(*codes: Code) -> dict[int, OpenApiResponse]:
    """The error responses of an endpoint answering ``codes`` (repeats are ignored)."""
    by_status: dict[int, list[Code]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(status_of(code), []).append(code)
    return {
        status: OpenApiResponse(
            ErrorSerializer,
            description=", ".join(f"`{code}`" for code in found),
            examples=[
                OpenApiExample(
                    str(code), value={"error": str(code), "message": "…"}, status_codes=[status]
                )
                for code in found
            ],
        )
        for status, found in sorted(by_status.items())
    }
