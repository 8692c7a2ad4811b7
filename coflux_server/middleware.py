"""Refusing, before any view, paths and query strings with text the database cannot store.

Identifiers in paths and values in query strings reach queries; on PostgreSQL a NUL in one
would fail the query (a 500). Checked once here for every request, as request bodies are in the
API's parser (``coflux_server.api_parsers``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from coflux_server.api_errors import error_response
from coflux_server.api_input import check_text
from projects.errors import DomainError


def _refusal(request: HttpRequest) -> HttpResponseBase | None:
    try:
        check_text(request.path, "the path")
        for key, values in request.GET.lists():
            check_text(key, "the query string")
            for value in values:
                check_text(value, "the query string")
    except DomainError as error:
        return error_response(error)
    return None


@sync_and_async_middleware
def storable_text(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    if iscoroutinefunction(get_response):

        async def check_async(request: HttpRequest) -> HttpResponseBase:
            return _refusal(request) or await get_response(request)

        return check_async

    def check(request: HttpRequest) -> HttpResponseBase:
        return _refusal(request) or get_response(request)

    return check
