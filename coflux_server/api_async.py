"""Plain async views of the API (those that wait, and the blob store), with DRF's error handling.

DRF's ``api_view`` runs views in a thread, which a view that waits for a run or streams a body
should not hold. ``async_api_view`` gives such a view what DRF gives the others: no CSRF check of
Django's own (the door, ``coflux_server.request_auth``, checks requests made with Studio's
cookie), a 405 for other methods, and every failure
reported as JSON by ``coflux_server.api_errors`` (unexpected ones logged with their
traceback). It also carries a DRF view class that is never run, so that drf-spectacular finds
the view, and ``@extend_schema`` above it declares its shapes as for any other API view.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Collection
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from rest_framework.decorators import api_view

from coflux_server.api_errors import error_response, response_for
from coflux_server.api_parsers import JSONParser
from projects.errors import Code, DomainError

P = ParamSpec("P")
AsyncView = Callable[Concatenate[HttpRequest, P], Awaitable[HttpResponseBase]]


def async_api_view(methods: Collection[str]) -> Callable[[AsyncView[P]], AsyncView[P]]:
    """Answer only ``methods`` (405 with ``Allow`` otherwise) and report failures as JSON."""
    allowed = ", ".join(methods)

    def decorate(view: AsyncView[P]) -> AsyncView[P]:
        @wraps(view)
        async def wrapper(
            request: HttpRequest, *args: P.args, **kwargs: P.kwargs
        ) -> HttpResponseBase:
            if request.method not in methods:
                error = DomainError(
                    f"Method {request.method} not allowed.", code=Code.METHOD_NOT_ALLOWED
                )
                response = error_response(error)
                response["Allow"] = allowed
                return response
            try:
                return await view(request, *args, **kwargs)
            except Exception as exc:
                return response_for(exc, view.__qualname__)

        documented = csrf_exempt(wrapper)
        described = api_view(list(methods))(_never_run(view))
        documented.cls = described.cls  # type: ignore[attr-defined]
        documented.initkwargs = described.initkwargs  # type: ignore[attr-defined]
        return documented

    return decorate


def json_body(request: HttpRequest) -> Any:
    """An async view's JSON body, read as DRF's views read theirs (``api_parsers``): an empty
    body is ``{}``; another media type is 415."""
    if not request.body:
        return {}
    if request.content_type != "application/json":
        raise DomainError(
            f"Unsupported media type {request.content_type!r}: send application/json.",
            code=Code.UNSUPPORTED_MEDIA_TYPE,
        )
    return JSONParser().parse(io.BytesIO(request.body), request.content_type, {})


def _never_run(view: AsyncView[P]) -> Callable[..., object]:
    """A stand-in with ``view``'s name and docstring, from which the schema is made."""

    def stand_in(request: object, *args: object, **kwargs: object) -> object:
        raise RuntimeError(f"{view.__qualname__} is served by its async view")

    stand_in.__name__ = view.__name__
    stand_in.__qualname__ = view.__qualname__
    stand_in.__doc__ = view.__doc__
    return stand_in
