"""Managing a project's workspaces: listing, creating, renaming, re-basing, pausing, resuming,
archiving.

Workspaces form a tree through ``base`` (shared/SPEC.md §1): a base must be a live workspace of
the same project and no workspace may end up based on itself. Names are case-insensitive and
unique among live workspaces. Pausing stops the orchestrator dispatching anything new in the
workspace; resuming restarts it. Archiving ends the workspace for good: it disappears from
lists, its name is free again, and the orchestrator cancels its queued work and ends its
workers' sessions.
"""

from __future__ import annotations

import enum
from typing import Final, TypedDict

from django.db import IntegrityError, transaction

from projects.errors import Code, DomainError
from projects.mailbox import call_orchestrator, wake_after_commit
from projects.models import Project
from workspaces.lookups import workspace_for_read
from workspaces.models import Workspace
from workspaces.names import check_workspace_name


class WorkspaceInfo(TypedDict):
    name: str
    base: str | None
    state: str


def workspace_info(workspace: Workspace) -> WorkspaceInfo:
    return {
        "name": workspace.name,
        "base": workspace.base.name if workspace.base_id is not None else None,
        "state": workspace.state,
    }


def list_workspaces(project: Project) -> list[WorkspaceInfo]:
    """The project's live workspaces (archived ones are hidden), by name."""
    workspaces = Workspace.objects.live(project).select_related("base").order_by("name", "id")
    return [workspace_info(workspace) for workspace in workspaces]


def _lock_workspaces(project: Project) -> None:
    # Two concurrent changes could each pass the checks against the tree as it was, and
    # together make a cycle (a.base = b, b.base = a) or a duplicate name: every change to the
    # tree or to names takes the project's row lock first, so they apply one after the other.
    Project.objects.select_for_update().filter(pk=project.pk).first()


def _check_name_free(project: Project, name: str, renaming: Workspace | None = None) -> None:
    taken = Workspace.objects.live(project).filter(name__iexact=name)
    if renaming is not None:
        taken = taken.exclude(pk=renaming.pk)
    existing = taken.first()
    if existing is not None:
        raise DomainError(
            f"A workspace named {existing.name!r} already exists.",
            code=Code.ALREADY_EXISTS,
            details={"workspace": existing.name},
        )


def check_no_cycle(workspace: Workspace, base: Workspace) -> None:
    """Refuse (``cycle``) if basing ``workspace`` on ``base`` would close a loop."""
    chain = [base]
    node = base
    while node.pk != workspace.pk:
        if node.base_id is None:
            return
        node = Workspace.objects.get(pk=node.base_id)
        if node in chain:  # an existing loop, which this change did not make
            return
        chain.append(node)
    if len(chain) == 1:
        raise DomainError(
            f"Workspace {workspace.name!r} cannot be its own base.",
            code=Code.CYCLE,
            details={"cycle": [workspace.name, workspace.name]},
        )
    path = [workspace.name, *(w.name for w in chain)]
    raise DomainError(
        f"Workspace {workspace.name!r} cannot be based on {base.name!r}, which is itself "
        f"based on {workspace.name!r}: that would make a cycle ({' → '.join(path)}).",
        code=Code.CYCLE,
        details={"cycle": path},
    )


def create_workspace(project: Project, name: str, base_name: str | None = None) -> Workspace:
    """A new live workspace, based on the live workspace ``base_name`` if given.

    The orchestrator is woken afterwards so that it learns of the workspace.
    """
    check_workspace_name(name)
    with transaction.atomic():
        _lock_workspaces(project)
        base = (
            workspace_for_read(project, base_name, "base workspace")
            if base_name is not None
            else None
        )
        _check_name_free(project, name)
        try:
            with transaction.atomic():
                created = Workspace.objects.create(project=project, name=name, base=base)
        except IntegrityError:
            # Someone created it regardless (e.g. a worker naming it); report it the same way.
            _check_name_free(project, name)
            raise
        # The orchestrator keeps the tree in memory (for re-runs, cache and memo lookups).
        wake_after_commit(project.pk)
    return created


class _Unchanged(enum.Enum):
    UNCHANGED = enum.auto()


UNCHANGED: Final = _Unchanged.UNCHANGED
"""For ``update_workspace``'s ``base_name``: leave the base as it is."""


def update_workspace(
    workspace: Workspace,
    *,
    name: str | None = None,
    base_name: str | None | _Unchanged = UNCHANGED,
) -> Workspace:
    """Rename the workspace and/or change its base (``None`` clears it).

    The orchestrator is woken afterwards so that it reads the names and the tree again.
    """
    if name is not None:
        check_workspace_name(name)
    project = workspace.project
    with transaction.atomic():
        _lock_workspaces(project)
        workspace = Workspace.objects.select_related("base").get(pk=workspace.pk)
        if name is not None:
            _check_name_free(project, name, renaming=workspace)
            workspace.name = name
        if base_name is None:
            workspace.base = None
        elif base_name is not UNCHANGED:
            base = workspace_for_read(project, base_name, "base workspace")
            check_no_cycle(workspace, base)
            workspace.base = base
        workspace.save(update_fields=["name", "base"])
        wake_after_commit(project.pk)
    return workspace


def set_workspace_state(workspace: Workspace, state: Workspace.State) -> Workspace:
    """Pause (``PAUSED``) or resume (``ACTIVE``) the workspace.

    A paused workspace's queued executions stay queued and nothing new is dispatched in it;
    running ones go on. The orchestrator reloads the states once this has committed.
    """
    if state not in (Workspace.State.ACTIVE, Workspace.State.PAUSED):
        raise ValueError(f"cannot set a workspace's state to {state!r} here")
    with transaction.atomic():
        changed = (
            Workspace.objects.filter(pk=workspace.pk)
            .exclude(state__in=[state, Workspace.State.ARCHIVED])
            .update(state=state)
        )
        if changed:
            wake_after_commit(workspace.project_id)
    workspace.refresh_from_db()
    return workspace


class Archived(WorkspaceInfo):
    cancelled: list[str]
    sessions: list[str]


def check_archivable(workspace: Workspace) -> None:
    """Refuse (``workspace_has_children``) if live workspaces are based on ``workspace``."""
    children = sorted(
        Workspace.objects.live(workspace.project)
        .filter(base=workspace)
        .values_list("name", flat=True)
    )
    if children:
        raise DomainError(
            f"Workspace {workspace.name!r} cannot be archived while workspaces are based on "
            f"it: {', '.join(children)}. Archive or re-base them first.",
            code=Code.WORKSPACE_HAS_CHILDREN,
            details={"workspace": workspace.name, "children": children},
        )


def archive_workspace(workspace: Workspace) -> Archived:
    """Archive the workspace (SPEC §1), refused while live workspaces are based on it.

    The orchestrator does it, since it holds the workspace's queued work and sessions in
    memory: it marks the workspace archived, cancels its queued executions, tells its workers
    that their sessions are over and ends those sessions (what they were running is
    abandoned). It checks for children again in the same tick, so a child created meanwhile
    still stops it. Returns the workspace as it now is, with the cancelled executions and the
    ended sessions.
    """
    check_archivable(workspace)
    try:
        reply = call_orchestrator(
            workspace.project_id, {"type": "archive", "workspace": workspace.name}
        )
    except DomainError as exc:
        if exc.code == Code.WORKSPACE_HAS_CHILDREN:
            raise DomainError(
                exc.message, code=exc.code, details={"workspace": workspace.name}
            ) from None
        raise
    workspace.refresh_from_db()
    return {
        **workspace_info(workspace),
        "cancelled": [str(execution) for execution in reply.get("cancelled", [])],
        "sessions": [str(session) for session in reply.get("sessions", [])],
    }
