"""API views of workspaces: the list, creating, updating, pausing, resuming and archiving;
manifests, and archiving a module's.

Workspace names may contain '/', so ``workspaces/a/pause`` could also name the workspace
``a/pause``: the action views hand a PATCH (which no action takes) on to ``update`` of the
whole path. Each view checks its input against a serializer of ``workspaces.serializers``,
finds the project and the workspace the request names, makes one domain call and renders the
answer with a serializer: the same serializers make the OpenAPI schema.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_fields import NoBodySerializer, validated
from coflux_server.api_schema import BODY, PROJECT, errors
from projects.access import project_by_name
from projects.actions import Action
from projects.errors import Code
from projects.permissions import allows, authorize, principal_of
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
from workspaces.serializers import (
    ArchivedModuleSerializer,
    ArchivedWorkspaceSerializer,
    CreateWorkspaceSerializer,
    ManifestsSerializer,
    RegisteredSerializer,
    UpdateWorkspaceSerializer,
    WorkspaceListSerializer,
    WorkspaceSerializer,
)

WORKSPACE = (*PROJECT, Code.INVALID_WORKSPACE, Code.WORKSPACE_NOT_FOUND)
"""Refusals of a path naming a workspace to read."""


@extend_schema(methods=["GET"], responses={200: WorkspaceListSerializer, **errors(*PROJECT)})
@extend_schema(
    methods=["POST"],
    request=CreateWorkspaceSerializer,
    responses={
        201: WorkspaceSerializer,
        **errors(
            *PROJECT,
            *BODY,
            Code.INVALID_WORKSPACE,
            Code.WORKSPACE_NOT_FOUND,
            Code.ALREADY_EXISTS,
        ),
    },
)
@api_view(["GET", "POST"])
def workspaces(request: Request, project: str) -> Response:
    """GET: the project's live workspaces, by name. POST: create one, optionally based on
    another (``workspace_not_found`` names a missing base)."""
    found = project_by_name(project)
    if request.method in ("GET", "HEAD"):
        principal = principal_of(request)
        visible = [
            workspace
            for workspace in list_workspaces(found)
            if allows(principal, Action.VIEW, workspace["name"], project_id=found.id)
        ]
        return Response(WorkspaceListSerializer({"workspaces": visible}).data)
    body = validated(CreateWorkspaceSerializer, request.data)
    authorize(request, Action.MANAGE, body["name"], project_id=found.id)
    if body.get("base") is not None:
        authorize(request, Action.VIEW, body["base"], project_id=found.id)
    created = create_workspace(found, body["name"], body.get("base"))
    return Response(WorkspaceSerializer(workspace_info(created)).data, status=201)


def authorized(
    request: Request, project: str, workspace: str, action: Action, *, create: bool = False
) -> Workspace:
    """The workspace a request names, once its caller is known to may do ``action`` there
    (asked by name first, so that a refusal says nothing of whether it exists); with
    ``create``, made if there is none."""
    found = project_by_name(project)
    authorize(request, action, workspace, project_id=found.id)
    if create:
        return workspace_for_write(found, workspace)
    return workspace_for_read(found, workspace)


def update(request: Request, project: str, workspace: str) -> Response:
    """Rename and/or re-base the workspace."""
    body = validated(UpdateWorkspaceSerializer, request.data)
    space = authorized(request, project, workspace, Action.MANAGE)
    if body.get("name") is not None:
        authorize(request, Action.MANAGE, body["name"], project_id=space.project_id)
    if body.get("base") is not None:
        authorize(request, Action.VIEW, body["base"], project_id=space.project_id)
    updated = update_workspace(space, name=body.get("name"), base_name=body.get("base", UNCHANGED))
    return Response(WorkspaceSerializer(workspace_info(updated)).data)


@extend_schema(
    request=UpdateWorkspaceSerializer,
    responses={
        200: WorkspaceSerializer,
        **errors(*WORKSPACE, *BODY, Code.ALREADY_EXISTS, Code.CYCLE),
    },
)
@api_view(["PATCH"])
def workspace_detail(request: Request, project: str, workspace: str) -> Response:
    """Rename and/or re-base the workspace (``base``: null removes it)."""
    return update(request, project, workspace)


def _set_state(
    request: Request, project: str, workspace: str, state: Workspace.State, action: str
) -> Response:
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/{action}")
    validated(NoBodySerializer, request.data)
    space = authorized(request, project, workspace, Action.OPERATE)
    return Response(WorkspaceSerializer(workspace_info(set_workspace_state(space, state))).data)


_ACTION = {
    "request": NoBodySerializer,
    "responses": {200: WorkspaceSerializer, **errors(*WORKSPACE, *BODY)},
}


@extend_schema(methods=["POST"], **_ACTION)
@extend_schema(methods=["PATCH"], exclude=True)
@api_view(["POST", "PATCH"])
def pause(request: Request, project: str, workspace: str) -> Response:
    """Dispatch nothing new in the workspace until it is resumed; running work goes on."""
    return _set_state(request, project, workspace, Workspace.State.PAUSED, "pause")


@extend_schema(methods=["POST"], **_ACTION)
@extend_schema(methods=["PATCH"], exclude=True)
@api_view(["POST", "PATCH"])
def resume(request: Request, project: str, workspace: str) -> Response:
    """Dispatch the workspace's work again."""
    return _set_state(request, project, workspace, Workspace.State.ACTIVE, "resume")


@extend_schema(
    methods=["POST"],
    request=NoBodySerializer,
    responses={
        200: ArchivedWorkspaceSerializer,
        **errors(*WORKSPACE, *BODY, Code.WORKSPACE_HAS_CHILDREN, Code.ORCHESTRATOR_UNAVAILABLE),
    },
)
@extend_schema(methods=["PATCH"], exclude=True)
@api_view(["POST", "PATCH"])
def archive(request: Request, project: str, workspace: str) -> Response:
    """Archive the workspace: hidden, its name free again, its queued work cancelled and its
    workers' sessions ended; refused while live workspaces are based on it."""
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/archive")
    validated(NoBodySerializer, request.data)
    space = authorized(request, project, workspace, Action.MANAGE)
    return Response(ArchivedWorkspaceSerializer(archive_workspace(space)).data)


@extend_schema(
    methods=["POST"],
    request=NoBodySerializer,
    responses={
        200: ArchivedModuleSerializer,
        **errors(*WORKSPACE, *BODY, Code.MODULE_NOT_FOUND),
    },
)
@extend_schema(methods=["PATCH"], exclude=True)
@api_view(["POST", "PATCH"])
def archive_manifest(request: Request, project: str, workspace: str, module: str) -> Response:
    """Hide the module's registered workflows until it is registered again."""
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/manifests/{module}/archive")
    validated(NoBodySerializer, request.data)
    space = authorized(request, project, workspace, Action.MANAGE)
    archived = archive_module(space, module)
    shown = {"workspace": space.name, "module": archived.name, "archived": True}
    return Response(ArchivedModuleSerializer(shown).data)


@extend_schema(
    methods=["GET"],
    operation_id="manifests_list",
    responses={200: ManifestsSerializer, **errors(*WORKSPACE)},
)
@extend_schema(
    methods=["POST"],
    operation_id="manifests_register",
    request=ManifestsSerializer,
    responses={
        200: RegisteredSerializer,
        **errors(*PROJECT, *BODY, Code.INVALID_WORKSPACE, Code.INVALID_MANIFEST),
    },
)
@extend_schema(methods=["PATCH"], exclude=True)
@api_view(["GET", "POST", "PATCH"])
def manifests(request: Request, project: str, workspace: str) -> Response:
    """GET: the workspace's registered workflows, by module. POST: register modules' workflows,
    each module's replacing what it had (the workspace is created if it does not exist)."""
    if request.method == "PATCH":
        return update(request, project, f"{workspace}/manifests")
    if request.method in ("GET", "HEAD"):
        space = authorized(request, project, workspace, Action.VIEW)
        return Response(ManifestsSerializer({"modules": workspace_manifests(space)}).data)
    definitions = parse_manifests(request.data)
    space = authorized(request, project, workspace, Action.OPERATE, create=True)
    modules = register_manifests(space, definitions)
    return Response(RegisteredSerializer({"modules": [module.name for module in modules]}).data)
