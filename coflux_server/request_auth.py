"""The door of the API and the blob store: every request under ``/api/`` and ``/blobs/`` is
authenticated here, before any view, and carries its principal as ``request.principal``.

- A bearer token (``Authorization: Bearer …``) is checked by ``projects.authentication``; a
  wrong one is 401 ``unauthorized`` even where no token is needed. Token-authenticated requests
  are exempt from CSRF checks: no browser adds that header to a cross-site request.
- Without a token, a logged-in Studio user (the session cookie) is that user; then a request
  that changes something must pass Django's CSRF check, so that another site's page cannot make
  a browser act for its user (403 ``forbidden``).
- Anyone else is anonymous, refused (401) unless ``COFLUX_REQUIRE_AUTH`` is off.

Views then ask ``projects.permissions.check`` about the workspace they act in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import sync_and_async_middleware

from coflux_server.api_errors import error_response
from projects.authentication import authenticate, bearer_token, needs_database, required
from projects.errors import Code, DomainError
from projects.principals import Kind, Principal

GUARDED = ("/api/", "/blobs/")


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> str:  # type: ignore[override]
        return reason


def _csrf_refusal(request: HttpRequest) -> DomainError | None:
    check = _CsrfCheck(lambda request: None)  # type: ignore[arg-type, return-value]
    check.process_request(request)
    reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    if reason is None:
        return None
    return DomainError(
        f"CSRF check failed ({reason}): a request made with Studio's session cookie needs "
        "its CSRF token; scripts should send 'Authorization: Bearer <token>' instead.",
        code=Code.FORBIDDEN,
    )


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or ""


def _admitted(request: HttpRequest, principal: Principal) -> DomainError | None:
    if principal.kind == Kind.USER and request.method not in ("GET", "HEAD", "OPTIONS"):
        refusal = _csrf_refusal(request)
        if refusal is not None:
            return refusal
    if not principal.is_authenticated and not principal.grants:
        return required()
    request.principal = principal  # type: ignore[attr-defined]
    return None


@sync_and_async_middleware
def authenticate_requests(
    get_response: Callable[[HttpRequest], Any],
) -> Callable[[HttpRequest], Any]:
    if iscoroutinefunction(get_response):

        async def door_async(request: HttpRequest) -> HttpResponseBase:
            if not request.path.startswith(GUARDED):
                return await get_response(request)
            try:
                token = bearer_token(request.headers.get("Authorization"))
                user = await request.auser() if token is None else None
                if token is None and not user.is_authenticated:
                    principal = authenticate(None, user)  # no database work
                elif token is not None and not needs_database(token):
                    principal = authenticate(token, client=_client(request))
                else:
                    principal = await sync_to_async(authenticate)(
                        token, user, client=_client(request)
                    )
                refusal = _admitted(request, principal)
            except DomainError as error:
                refusal = error
            if refusal is not None:
                return error_response(refusal)
            return await get_response(request)

        return door_async

    def door(request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith(GUARDED):
            return get_response(request)
        try:
            token = bearer_token(request.headers.get("Authorization"))
            principal = authenticate(
                token, request.user if token is None else None, client=_client(request)
            )
            refusal = _admitted(request, principal)
        except DomainError as error:
            refusal = error
        if refusal is not None:
            return error_response(refusal)
        return get_response(request)

    return door
