"""The API's request parser: JSON, bounded in size and depth, holding only what the database and
Python accept.

DRF's parser reads the request stream directly and so skips Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` check, which only guards ``request.body``. Refused with 400
``invalid_json``: what is not JSON, ``NaN`` and infinities (also ``1e400``, which Python reads as
infinity), integers beyond 64 bits, and nesting deeper than a worker's message may
(``coflux_wire.validation.MAX_DEPTH``; deeper still would exhaust the recursion of the decoder
or of the code that walks the value). Refused with 400 ``invalid_request``: text that the
database cannot store (see ``api_input.check_text``).
"""

from __future__ import annotations

import json
import math
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from coflux_server.api_input import check_text
from coflux_wire.validation import MAX_DEPTH
from coflux_wire.values import MAX_INT, MIN_INT
from projects.errors import Code, DomainError


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise DomainError(
                f"The request body is larger than {limit} bytes.", code=Code.REQUEST_TOO_LARGE
            )
        try:
            data = json.loads(
                raw.decode(encoding),
                parse_constant=_reject_constant,
                parse_float=_finite_float,
                parse_int=_int64,
            )
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        check_json(data)
        return data


def check_json(data: Any) -> None:
    """Refuse ``data`` if it nests deeper than ``MAX_DEPTH`` or holds text the database cannot
    store, in its strings or its keys. Walked without recursion."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            check_text(value, "the body")
        elif isinstance(value, list | dict):
            if depth >= MAX_DEPTH:
                raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    check_text(key, "the body")
                    pending.append((item, depth + 1))
            else:
                pending.extend((item, depth + 1) for item in value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


def _int64(text: str) -> int:
    number = int(text)
    if not MIN_INT <= number <= MAX_INT:
        raise ValueError(f"{text} is beyond 64 bits")
    return number
