"""Finding the workspace a request names, or failing with a ``DomainError``.

Workspace names are case-insensitive (shared/SPEC.md §1): ``Dev`` finds the workspace ``dev``.
"""

from __future__ import annotations

from projects.errors import Code, DomainError
from projects.models import Project
from workspaces.models import Workspace
from workspaces.names import check_workspace_name

__all__ = ["workspace_for_read", "workspace_for_write"]


def workspace_for_read(project: Project, name: str, what: str = "workspace") -> Workspace:
    """A live workspace of the project, whatever the case of ``name``; reading never creates one.

    ``what`` names the workspace in errors, e.g. "base workspace".
    """
    found = Workspace.objects.named(project, check_workspace_name(name, f"{what} name"))
    if found is None:
        raise DomainError(
            f"No {what} named {name!r}.",
            code=Code.WORKSPACE_NOT_FOUND,
            details={"workspace": name},
        )
    return found


def workspace_for_write(project: Project, name: str) -> Workspace:
    """A live workspace of the project, created when a write names one that does not exist."""
    return Workspace.objects.ensure(project, check_workspace_name(name))
