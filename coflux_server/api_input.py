"""Text the database cannot store, refused before any query: in paths and query strings
(``coflux_server.middleware``) and in request bodies (``coflux_server.api_parsers``). The
shapes of bodies and query strings are declared by serializers (``coflux_server.api_fields``)."""

from __future__ import annotations

from coflux_wire.values import is_safe_text
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
