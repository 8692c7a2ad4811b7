"""Finding what an API request names — project, workspace, run — or failing with the API's errors.

Views call these before their one domain call; they are where access checks belong. Workspace
names are case-insensitive (shared/SPEC.md §1): ``Dev`` finds the workspace ``dev``.
"""

from __future__ import annotations

from coflux_server.api_errors import ApiError
from projects.models import Project
from workspaces.models import Workspace
from workspaces.names import InvalidWorkspace, check_workspace_name

__all__ = [
    "InvalidWorkspace",
    "ProjectNotFound",
    "WorkspaceNotFound",
    "project_by_name",
    "workspace_for_read",
    "workspace_for_write",
]


class ProjectNotFound(ApiError):
    code = "project_not_found"
    status = 404


class WorkspaceNotFound(ApiError):
    code = "workspace_not_found"
    status = 404


def project_by_name(name: str) -> Project:
    try:
        return Project.objects.get(name=name)
    except Project.DoesNotExist:
        raise ProjectNotFound(f"No project named {name!r}.") from None


def workspace_for_read(project: Project, name: str, what: str = "workspace") -> Workspace:
    """A live workspace of the project, whatever the case of ``name``; reading never creates one.

    ``what`` names the workspace in errors, e.g. "base workspace".
    """
    found = Workspace.objects.named(project, check_workspace_name(name, f"{what} name"))
    if found is None:
        raise WorkspaceNotFound(f"No {what} named {name!r}.", details={"workspace": name})
    return found


def workspace_for_write(project: Project, name: str) -> Workspace:
    """A live workspace of the project, created when a write names one that does not exist."""
    return Workspace.objects.ensure(project, check_workspace_name(name))
