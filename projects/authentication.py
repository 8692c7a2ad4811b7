"""Authentication, the one way credentials become a principal, for every way in: the API and
the blob store (``coflux_server.request_auth``), the worker websocket and Studio's websocket.

A bearer token is, in this order of checking:

- the **super token**, whose SHA-256 hex is ``COFLUX_SUPER_TOKEN_HASH``: full access;
- a **service token** ``cflx_…`` (``projects.service_tokens``), not revoked: the workspaces its
  patterns cover, in its project;
- a **worker session's token** ``<session>.<secret>`` (``projects.session_tokens``), of a
  session that has not expired: its own workspace.

Anything else presented as a token is refused (``unauthorized``), whatever
``COFLUX_REQUIRE_AUTH`` says. Without a token, a logged-in Django user (Studio's session
cookie) is that user's principal; anyone else is anonymous, who may use the API only when
``COFLUX_REQUIRE_AUTH`` is off. Failures count towards ``projects.throttle``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings

from projects import principals, service_tokens, session_tokens, throttle
from projects.errors import Code, DomainError
from projects.models import ServiceToken, WorkerSession
from projects.principals import Principal

BEARER = "bearer"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (``None`` without a header);
    any other scheme, or none, is refused."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != BEARER or not token:
        raise unauthorized("Use 'Authorization: Bearer <token>'.")
    return token


def unauthorized(message: str) -> DomainError:
    return DomainError(message, code=Code.UNAUTHORIZED)


def required() -> DomainError:
    """The refusal of a caller who brought no credentials where some are needed."""
    return unauthorized(
        "Authentication required: send 'Authorization: Bearer <token>' "
        "(COFLUX_TOKEN, --token or token in coflux.toml for the CLI)."
    )


def authenticate(token: str | None, user: Any = None, *, client: str = "") -> Principal:
    """The principal of a request or connection: its bearer ``token`` if it has one, else its
    Django ``user`` (if logged in), else anonymous. ``client`` (the caller's address) is what
    failed attempts are counted against."""
    if token is None:
        if user is not None and getattr(user, "is_authenticated", False):
            return principals.for_user(user)
        return principals.anonymous(open_access=not settings.COFLUX_REQUIRE_AUTH)
    throttle.check(client)
    principal = _for_token(token)
    if principal is None:
        throttle.failed(client)
        raise unauthorized("The token is not valid (unknown, revoked or expired).")
    return principal


def needs_database(token: str) -> bool:
    """Whether checking ``token`` reads the database (service and session tokens); the super
    token's check is a hash comparison, which async code may make where it is."""
    return service_tokens.looks_like(token) or session_tokens.SEPARATOR in token


def _for_token(token: str) -> Principal | None:
    if not token.isprintable() or len(token) > 500:
        return None
    if _is_super_token(token):
        return principals.super_principal()
    if service_tokens.looks_like(token):
        return _service_principal(token)
    if session_tokens.SEPARATOR in token:
        return _session_principal(token)
    return None


def _is_super_token(token: str) -> bool:
    expected = settings.COFLUX_SUPER_TOKEN_HASH
    actual = hashlib.sha256(token.encode()).hexdigest()
    return bool(expected) and hmac.compare_digest(actual, expected)


def _service_principal(token: str) -> Principal | None:
    found = (
        ServiceToken.objects.live()
        .select_related("project")
        .filter(token_hash=service_tokens.hash_token(token))
        .first()
    )
    if found is None or not service_tokens.is_signed(
        token, settings.COFLUX_TOKEN_SECRET, found.project.name
    ):
        return None
    return principals.for_service_token(found)


def _session_principal(token: str) -> Principal | None:
    session_id, secret = session_tokens.split(token)
    session = (
        WorkerSession.objects.select_related("workspace")
        .filter(id=session_id, expired_at__isnull=True)
        .first()
    )
    if session is None or not session_tokens.matches(secret, session.secret_hash):
        return None
    return principals.for_session(session)
