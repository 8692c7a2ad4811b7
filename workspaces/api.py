"""API views of workspaces: the list, creating, updating, pausing, resuming and archiving;
manifests, and archiving a module's.

Workspace names may contain '/', so ``workspaces/a/pause`` could also name the workspace
``a/pause``: the action views hand a PATCH (which no action takes) on to ``update`` of the
whole path.
"""

from __future__ import annotations

from typing import Any

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_input import InvalidRequest, json_object
from projects.access import project_by_name
from workspaces.actions import (
    UNCHANGED,
    archive_workspace,
    create_workspace,
    list_workspaces,
    set_workspace_state,
    update_workspace,
    workspace_info,
)
from workspaces.lookups import workspace_for_read, workspace_for_write
from workspaces.manifests import (
    archive_module,
    parse_manifests,
    register_manifests,
    workspace_manifests,
)
from workspaces.models import Workspace


def _optional_name(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"{field!r} must be a workspace name or null.")
    return value


@api_view(["GET", "POST"])
def workspaces(request: Request, project: str) -> Response:
    found = project_by_name(project)
    if request.method == "GET":
        return Response({"workspaces": list_workspaces(found)})
    body = json_object(request.data, {"name", "base"}, required={"name"})
    if not isinstance(body["name"], str):
        raise InvalidRequest("'name' must be a string.")
    created = create_workspace(found, body["name"], _optional_name(body, "base"))
    return Response(workspace_info(created), status=201)


def update(request: Request, project: str, workspace: str) -> Response:
    """PATCH ``{"name"?, "base"?: name | null}``: rename and/or re-base the workspace."""
    found = project_by_name(project)
    body = json_object(request.data, {"name", "base"})
    if not body:
        raise InvalidRequest("Give 'name' and/or 'base' to change.")
    if "name" in body and not isinstance(body["name"], str):
        raise InvalidRequest("'name' must be a string.")
    updated = update_workspace(
        workspace_for_read(found, workspace),
        name=body.get("name"),
        base_name=_optional_name(body, "base") if "base" in body else UNCHANGED,
    )
    return Response(workspace_info(updated))


@api_view(["PATCH"])
def workspace_detail(request: Request, project: str, workspace: str) -> Response:
    return update(request, project, workspace)


def _set_state(
    request: Request, project: str, workspace: str, state: Workspace.State, action: str
) -> Response:
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/{action}")
    json_object(request.data, ())
    space = workspace_for_read(project_by_name(project), workspace)
    return Response(workspace_info(set_workspace_state(space, state)))


@api_view(["POST", "PATCH"])
def pause(request: Request, project: str, workspace: str) -> Response:
    """Dispatch nothing new in the workspace until it is resumed."""
    return _set_state(request, project, workspace, Workspace.State.PAUSED, "pause")


@api_view(["POST", "PATCH"])
def resume(request: Request, project: str, workspace: str) -> Response:
    return _set_state(request, project, workspace, Workspace.State.ACTIVE, "resume")


@api_view(["POST", "PATCH"])
def archive(request: Request, project: str, workspace: str) -> Response:
    """Archive the workspace: hidden, its name free again, its queued work cancelled and its
    workers' sessions ended; refused (409) while live workspaces are based on it."""
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/archive")
    json_object(request.data, ())
    space = workspace_for_read(project_by_name(project), workspace)
    return Response(archive_workspace(space))


@api_view(["POST", "PATCH"])
def archive_manifest(request: Request, project: str, workspace: str, module: str) -> Response:
    """Hide the module's registered workflows until it is registered again."""
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/manifests/{module}/archive")
    json_object(request.data, ())
    space = workspace_for_read(project_by_name(project), workspace)
    archived = archive_module(space, module)
    return Response({"workspace": space.name, "module": archived.name, "archived": True})


@api_view(["GET", "POST", "PATCH"])
def manifests(request: Request, project: str, workspace: str) -> Response:
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/manifests")
    found = project_by_name(project)
    if request.method == "GET":
        return Response({"modules": workspace_manifests(workspace_for_read(found, workspace))})
    definitions = parse_manifests(request.data)
    modules = register_manifests(workspace_for_write(found, workspace), definitions)
    return Response({"modules": [module.name for module in modules]})


def reading(request: Request, project: str, workspace: str, action: str, read: Any) -> Response:
    """A GET of something of the workspace (``read`` makes the answer); a PATCH renames the
    workspace named with the action (see the module's docstring)."""
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/{action}")
    return Response(read(workspace_for_read(project_by_name(project), workspace)))
