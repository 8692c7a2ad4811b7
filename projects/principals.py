"""Principals: who is asking, and what they are granted where.

Every way into the server turns its credentials into a ``Principal`` (see
``projects.authentication``) and asks ``projects.permissions`` whether it may act. A principal
holds grants: a workspace pattern (``projects.patterns``), the actions allowed there, and the
project they hold in (``None``: every project).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from projects.actions import ALL_ACTIONS, OPEN_ACTIONS, ROLE_ACTIONS, WORKER_ACTIONS, Action
from projects.models import RoleGrant, ServiceToken, WorkerSession
from projects.patterns import ALL


class Kind(StrEnum):
    ANONYMOUS = "anonymous"
    SUPER = "super"
    SERVICE = "service"
    SESSION = "session"
    USER = "user"


@dataclass(frozen=True)
class Grant:
    pattern: str
    actions: frozenset[Action]
    project_id: int | None = None
    """The project the grant holds in; ``None``: every project."""

    def holds_in(self, project_id: int | None) -> bool:
        return self.project_id is None or project_id is None or self.project_id == project_id


@dataclass(frozen=True)
class Principal:
    kind: Kind
    name: str
    """How errors and records name it: ``user alice``, ``token T1a2b (ci)``, …"""
    grants: tuple[Grant, ...] = ()
    token_id: str | None = None
    session_id: str | None = None
    user_id: int | None = None
    superuser: bool = False
    """A Django superuser: admin everywhere, and every input's ``requires`` is met."""

    @property
    def is_authenticated(self) -> bool:
        return self.kind != Kind.ANONYMOUS

    def grants_in(self, project_id: int | None) -> list[Grant]:
        return [grant for grant in self.grants if grant.holds_in(project_id)]


def anonymous(*, open_access: bool) -> Principal:
    """Someone without credentials: with ``open_access`` (``COFLUX_REQUIRE_AUTH`` off) they may
    do what an operator may, everywhere; otherwise nothing."""
    grants = (Grant(ALL, OPEN_ACTIONS),) if open_access else ()
    return Principal(Kind.ANONYMOUS, "anonymous", grants)


def super_principal() -> Principal:
    return Principal(Kind.SUPER, "super token", (Grant(ALL, ALL_ACTIONS),))


def for_service_token(token: ServiceToken) -> Principal:
    grants = tuple(Grant(p, ALL_ACTIONS, token.project_id) for p in token.workspaces)
    return Principal(Kind.SERVICE, f"token {token.id} ({token.name})", grants, token_id=token.id)


def for_session(session: WorkerSession) -> Principal:
    """A worker session's token: its own workspace only (not those below it)."""
    grant = Grant(session.workspace.name.lower(), WORKER_ACTIONS, session.project_id)
    return Principal(Kind.SESSION, f"worker session {session.id}", (grant,), session_id=session.id)


def for_user(user: Any) -> Principal:
    """A Django user's principal: a superuser is admin everywhere; others have the roles granted
    to them or to their groups. An inactive or anonymous user has nothing."""
    if not (getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
        return anonymous(open_access=False)
    name = f"user {user.get_username()}"
    if user.is_superuser:
        grants = (Grant(ALL, ALL_ACTIONS),)
        return Principal(Kind.USER, name, grants, user_id=user.pk, superuser=True)
    rows = RoleGrant.objects.filter(user=user) | RoleGrant.objects.filter(
        group__in=user.groups.all()
    )
    grants = tuple(
        Grant(row.workspaces.lower(), ROLE_ACTIONS[row.role], row.project_id)
        for row in rows.distinct()
    )
    return Principal(Kind.USER, name, grants, user_id=user.pk)
