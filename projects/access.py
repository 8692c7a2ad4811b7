"""Finding what an API request names — project, workspace, run — or failing with the API's errors.

Views call these before their one domain call; they are where access checks belong.
"""

from __future__ import annotations

from coflux_server.api_errors import ApiError
from projects.models import Project
from workspaces.models import Workspace
from workspaces.names import is_valid_workspace_name


class ProjectNotFound(ApiError):
    code = "project_not_found"
    status = 404


class WorkspaceNotFound(ApiError):
    code = "workspace_not_found"
    status = 404


class InvalidWorkspace(ApiError):
    code = "invalid_workspace"
    status = 400


def project_by_name(name: str) -> Project:
    try:
        return Project.objects.get(name=name)
    except Project.DoesNotExist:
        raise ProjectNotFound(f"No project named {name!r}.") from None


def _checked_name(name: str) -> str:
    if not is_valid_workspace_name(name):
        raise InvalidWorkspace(
            f"Invalid workspace name {name!r}: use letters, digits, '_' and '-', "
            "in segments separated by '/'."
        )
    return name


def workspace_for_read(project: Project, name: str) -> Workspace:
    """A live workspace of the project; reading never creates one."""
    try:
        return Workspace.objects.live(project).get(name=_checked_name(name))
    except Workspace.DoesNotExist:
        raise WorkspaceNotFound(f"No workspace named {name!r}.") from None


def workspace_for_write(project: Project, name: str) -> Workspace:
    """A live workspace of the project, created when a write names one that does not exist."""
    return Workspace.objects.ensure(project, _checked_name(name))
