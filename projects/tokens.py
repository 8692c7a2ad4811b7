"""Service tokens: creating, listing and revoking them.

Creating, listing and revoking take the ``administer`` grant (the super token, Studio admins,
service tokens), and only within it: a token may create tokens covering no more than it covers
itself, and sees and revokes only those. Revocation takes effect at once: the next request
with the token is refused, and open websockets authenticated with it are closed (they listen
on ``revocation_group``).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from projects import service_tokens
from projects.actions import Action
from projects.errors import Code, DomainError
from projects.models import Project, ServiceToken
from projects.patterns import all_within, parse_patterns
from projects.permissions import check
from projects.principals import Principal

MAX_NAME = 200
REVOKED = "auth.revoked"
"""The channel-layer event telling a websocket that its token was revoked."""


def revocation_group(token_id: str) -> str:
    return f"token.{token_id}"


def _administered(principal: Principal, project: Project) -> list[str]:
    """The patterns within which ``principal`` manages tokens (maybe none)."""
    return [
        grant.pattern
        for grant in principal.grants_in(project.id)
        if Action.ADMINISTER in grant.actions
    ]


def _check_within(principal: Principal, project: Project, patterns: list[str]) -> None:
    """Refuse unless every one of ``patterns`` lies within what ``principal`` administers,
    naming the first that does not."""
    mine = _administered(principal, project)
    missing = [pattern for pattern in patterns if not all_within(mine, [pattern])]
    if not missing:
        return
    if not principal.is_authenticated:
        check(principal, Action.ADMINISTER, project_id=project.id)  # raises unauthorized
    raise DomainError(
        f"{principal.name} may not administer tokens for {missing[0]!r}: a token may only "
        "cover workspaces its creator administers (the 'administer' grant).",
        code=Code.FORBIDDEN,
        details={"workspace": missing[0], "grant": str(Action.ADMINISTER)},
    )


def create_token(
    principal: Principal, project: Project, name: str, workspaces: Any
) -> tuple[ServiceToken, str]:
    """A new token and its secret, which is shown this once only."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise DomainError(
            f"'name' must be a non-empty string of at most {MAX_NAME} characters.",
            code=Code.INVALID_REQUEST,
        )
    patterns = parse_patterns(workspaces)
    _check_within(principal, project, patterns)
    secret = service_tokens.new_token(settings.COFLUX_TOKEN_SECRET, project.name)
    token = ServiceToken.objects.create(
        project=project,
        name=name.strip(),
        workspaces=patterns,
        token_hash=service_tokens.hash_token(secret),
        created_by=principal.name,
    )
    return token, secret


def list_tokens(principal: Principal, project: Project) -> list[ServiceToken]:
    """The project's tokens ``principal`` may manage, newest first (revoked ones too)."""
    check(principal, Action.ADMINISTER, project_id=project.id)
    mine = _administered(principal, project)
    tokens = ServiceToken.objects.filter(project=project).order_by("-created_at", "id")
    return [token for token in tokens if all_within(mine, token.workspaces)]


def revoke_token(principal: Principal, project: Project, token_id: str) -> ServiceToken:
    """Revoke the token (again is fine); open connections made with it are closed."""
    token = ServiceToken.objects.filter(project=project, id=token_id).first()
    if token is None:
        check(principal, Action.ADMINISTER, project_id=project.id)
        raise DomainError(f"No token {token_id!r}.", code=Code.NOT_FOUND)
    _check_within(principal, project, token.workspaces)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        transaction.on_commit(lambda: _close_connections(token.id))
    return token


def _close_connections(token_id: str) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(revocation_group(token_id), {"type": REVOKED})
