"""Who may do what in a workspace: the one access check every way into the server asks.

The API, the blob store, both websockets and Studio's views turn their caller into a
``Principal`` (``projects.authentication``) and ask ``check(principal, action, workspace)``,
which refuses with ``unauthorized`` (who are you?) or ``forbidden`` (naming the workspace and
the grant that is missing); Studio asks ``may(user, action, workspace)`` to decide what to show.
What each principal is granted is in ``projects.principals``; what each role allows in
``projects.actions``.

An input's ``requires`` narrows who may answer it among people: ``meets_requires`` (and
``requires_in_words`` to say whom it is for), which ``runs.inputs.may_answer`` adds to the
``respond`` grant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group

from projects import authentication, principals
from projects.actions import Action
from projects.errors import Code, DomainError
from projects.patterns import covers
from projects.principals import Kind, Principal

if TYPE_CHECKING:
    from workspaces.models import Workspace

__all__ = [
    "Action",
    "access_report",
    "allows",
    "authorize",
    "check",
    "may",
    "meets_requires",
    "principal_of",
    "principal_of_user",
    "requires_in_words",
]


def _place(workspace: Workspace | str | None, project_id: int | None) -> tuple[str | None, Any]:
    if workspace is None or isinstance(workspace, str):
        return workspace, project_id
    return workspace.name, workspace.project_id


def allows(
    principal: Principal,
    action: Action,
    workspace: Workspace | str | None = None,
    *,
    project_id: int | None = None,
) -> bool:
    """Whether ``principal`` may do ``action`` in ``workspace`` (a workspace, or the name of one
    that may not exist yet, of the project ``project_id``); ``None``: in at least one
    workspace, e.g. to be shown the form that creates one."""
    name, project_id = _place(workspace, project_id)
    grants = [grant for grant in principal.grants_in(project_id) if action in grant.actions]
    if name is None:
        return bool(grants)
    return any(covers(grant.pattern, name) for grant in grants)


def check(
    principal: Principal,
    action: Action,
    workspace: Workspace | str | None = None,
    *,
    project_id: int | None = None,
) -> None:
    """Refuse unless ``allows``: ``unauthorized`` for an anonymous caller, else ``forbidden``
    saying which workspace and which grant was missing."""
    if allows(principal, action, workspace, project_id=project_id):
        return
    name, _ = _place(workspace, project_id)
    if not principal.is_authenticated:
        raise authentication.required()
    where = f"in workspace {name!r}" if name is not None else "in any workspace"
    raise DomainError(
        f"{principal.name} may not {action} {where}: that needs the '{action}' grant there.",
        code=Code.FORBIDDEN,
        details={"workspace": name, "grant": str(action), "principal": principal.name},
    )


def access_report(principal: Principal, project_id: int | None) -> dict[str, Any]:
    """What ``GET /api/discover`` tells a caller about itself: the workspace patterns it may
    see, and each pattern's actions."""
    grants = principal.grants_in(project_id)
    actions: dict[str, set[str]] = {}
    for grant in grants:
        actions.setdefault(grant.pattern, set()).update(grant.actions)
    return {
        "principal": {"kind": str(principal.kind), "name": principal.name},
        "workspaces": sorted(p for p, granted in actions.items() if Action.VIEW in granted),
        "grants": [
            {"workspaces": pattern, "actions": sorted(granted)}
            for pattern, granted in sorted(actions.items())
        ],
    }


def principal_of_user(user: Any) -> Principal:
    """A Django user's principal, worked out once per user object (one request)."""
    cached = getattr(user, "_coflux_principal", None)
    if cached is None:
        cached = principals.for_user(user)
        if getattr(user, "is_authenticated", False):
            user._coflux_principal = cached
    return cached


def may(
    who: Any,
    action: Action,
    workspace: Workspace | str | None = None,
    *,
    project_id: int | None = None,
) -> bool:
    """Whether ``who`` (a ``Principal`` or a Django user, possibly anonymous) may do ``action``
    in ``workspace`` (``None``: in at least one workspace)."""
    principal = who if isinstance(who, Principal) else principal_of_user(who)
    return allows(principal, action, workspace, project_id=project_id)


def principal_of(request: Any) -> Principal:
    """The principal the door (``coflux_server.request_auth``) found for an API request."""
    return request.principal


def authorize(
    request: Any,
    action: Action,
    workspace: Workspace | str | None = None,
    *,
    project_id: int | None = None,
) -> Principal:
    """``check`` for an API request's principal, which it returns (e.g. to record who acted)."""
    principal = principal_of(request)
    check(principal, action, workspace, project_id=project_id)
    return principal


def _wanted_groups(requires: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """Each key of ``requires`` with the names of the groups that meet it (``<key>:<value>``);
    a key without values asks nothing."""
    return {
        key: [f"{key}:{value}" for value in values]
        for key, values in (requires or {}).items()
        if values
    }


def _group_names(who: Any, principal: Principal) -> frozenset[str]:
    """The names of a person's groups: read once per user object (one request, one page), or
    for a principal once per call."""
    if isinstance(who, Principal):
        rows = Group.objects.filter(user__id=principal.user_id)
        return frozenset(rows.values_list("name", flat=True))
    cached = getattr(who, "_coflux_groups", None)
    if cached is None:
        cached = frozenset(who.groups.values_list("name", flat=True))
        who._coflux_groups = cached
    return cached


def meets_requires(who: Any, requires: Mapping[str, Sequence[str]] | None) -> bool:
    """Whether ``who`` (a ``Principal`` or a Django user) is among those an input's
    ``requires`` (``{key: [values]}``) is for: in a Django group ``<key>:<value>`` for at least
    one value of every key. A superuser meets any.

    Only people are narrowed so: tokens (super, service, worker session) are automation, and
    an anonymous caller (authentication off) is nobody in particular; what they may answer is
    what their grants say.
    """
    wanted = _wanted_groups(requires)
    if not wanted:
        return True
    principal = who if isinstance(who, Principal) else principal_of_user(who)
    if principal.kind != Kind.USER or principal.superuser:
        return True
    groups = _group_names(who, principal)
    return all(not groups.isdisjoint(names) for names in wanted.values())


def requires_in_words(requires: Mapping[str, Sequence[str]] | None) -> str:
    """Whom ``requires`` is for, as the groups needed: ``team:ops or team:sre``, ``(team:ops or
    team:sre) and region:eu``; empty when it asks nothing."""
    clauses = [" or ".join(names) for names in _wanted_groups(requires).values()]
    if len(clauses) > 1:
        clauses = [f"({clause})" if " or " in clause else clause for clause in clauses]
    return " and ".join(clauses)
