"""API views of a workspace's pools: list, create, read, update, delete, enable, disable, their
launched workers, export and import.

The pool routes sit under ``workspaces/<workspace>/pools``; as everywhere under a workspace's
path, a PATCH of ``…/pools`` renames the workspace named with ``/pools`` (see
``workspaces.api``), while a PATCH of ``…/pools/<pool>`` updates the pool.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_schema import BODY, PROJECT, errors
from projects.actions import Action
from projects.errors import Code
from workspaces import api as workspaces_api
from workspaces.models import Pool, Workspace
from workspaces.pool_serializers import (
    CreatePoolSerializer,
    ExportSerializer,
    ImportPlanSerializer,
    ImportSerializer,
    LaunchListSerializer,
    NoBodySerializer,
    PoolListSerializer,
    PoolSerializer,
    UpdatePoolSerializer,
)
from workspaces.pools import (
    create_pool,
    delete_pool,
    export_pools,
    import_pools,
    list_pools,
    pool_launches,
    pool_named,
    set_pool_state,
    update_pool,
)


def _workspace(request: Request, project: str, workspace: str) -> Workspace:
    """The workspace named; reading its pools takes the view grant, changing them administer
    (a pool's configuration says what processes the server starts)."""
    reading = request.method in ("GET", "HEAD")
    action = Action.VIEW if reading else Action.ADMINISTER
    return workspaces_api.authorized(request, project, workspace, action)


WORKSPACE = (*PROJECT, Code.INVALID_WORKSPACE, Code.WORKSPACE_NOT_FOUND)
ONE_POOL = (*WORKSPACE, *BODY, Code.NOT_FOUND)
"""Refusals of an action on one pool."""


def _valid(serializer_class: type, request: Request) -> dict:
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


@extend_schema(
    methods=["GET"],
    operation_id="pools_list",
    responses={200: PoolListSerializer, **errors(*WORKSPACE)},
)
@extend_schema(
    methods=["POST"],
    operation_id="pools_create",
    request=CreatePoolSerializer,
    responses={201: PoolSerializer, **errors(*WORKSPACE, *BODY, Code.ALREADY_EXISTS)},
)
@extend_schema(methods=["PATCH"], exclude=True)
@api_view(["GET", "POST", "PATCH"])
def pools(request: Request, project: str, workspace: str) -> Response:
    """The workspace's pools, by name; POST creates one (``already_exists`` if it has one of
    that name)."""
    if request.method == "PATCH":
        return workspaces_api.update(request, project, f"{workspace}/pools")
    space = _workspace(request, project, workspace)
    if request.method in ("GET", "HEAD"):
        return Response(PoolListSerializer({"pools": list_pools(space)}).data)
    body = _valid(CreatePoolSerializer, request)
    created = create_pool(
        space,
        body["name"],
        body["type"],
        modules=body.get("modules"),
        provides=body.get("provides"),
        accepts=body.get("accepts"),
        fields=body.get("fields"),
    )
    return Response(PoolSerializer(created).data, status=201)


@extend_schema(
    methods=["GET"],
    operation_id="pools_get",
    responses={200: PoolSerializer, **errors(*WORKSPACE, Code.NOT_FOUND)},
)
@extend_schema(
    methods=["PATCH"],
    operation_id="pools_update",
    request=UpdatePoolSerializer,
    responses={200: PoolSerializer, **errors(*WORKSPACE, *BODY, Code.NOT_FOUND)},
)
@extend_schema(
    methods=["DELETE"],
    operation_id="pools_delete",
    responses={204: None, **errors(*WORKSPACE, Code.NOT_FOUND)},
)
@api_view(["GET", "PATCH", "DELETE"])
def pool_detail(request: Request, project: str, workspace: str, pool: str) -> Response:
    """A pool; PATCH merges changes into it (fields set or unset, the others kept), DELETE
    removes it (the workers it launched drain and stop)."""
    space = _workspace(request, project, workspace)
    if request.method in ("GET", "HEAD"):
        return Response(PoolSerializer(pool_named(space, pool)).data)
    if request.method == "DELETE":
        delete_pool(space, pool)
        return Response(status=204)
    body = _valid(UpdatePoolSerializer, request)
    updated = update_pool(
        space,
        pool,
        set_fields=body.get("set"),
        unset=body.get("unset"),
        modules=body.get("modules"),
        provides=body["provides"] or {} if "provides" in body else None,
        accepts=body["accepts"] or {} if "accepts" in body else None,
    )
    return Response(PoolSerializer(updated).data)


def _set_state(
    request: Request, project: str, workspace: str, pool: str, state: Pool.State
) -> Response:
    _valid(NoBodySerializer, request)
    changed = set_pool_state(_workspace(request, project, workspace), pool, state)
    return Response(PoolSerializer(changed).data)


@extend_schema(request=NoBodySerializer, responses={200: PoolSerializer, **errors(*ONE_POOL)})
@api_view(["POST"])
def enable(request: Request, project: str, workspace: str, pool: str) -> Response:
    """Let the pool launch workers again."""
    return _set_state(request, project, workspace, pool, Pool.State.ACTIVE)


@extend_schema(request=NoBodySerializer, responses={200: PoolSerializer, **errors(*ONE_POOL)})
@api_view(["POST"])
def disable(request: Request, project: str, workspace: str, pool: str) -> Response:
    """Launch nothing more from the pool; the workers it launched drain and stop."""
    return _set_state(request, project, workspace, pool, Pool.State.DISABLED)


@extend_schema(responses={200: LaunchListSerializer, **errors(*WORKSPACE, Code.NOT_FOUND)})
@api_view(["GET"])
def launches(request: Request, project: str, workspace: str, pool: str) -> Response:
    """The workers the pool launched, newest first (at most 100)."""
    found = pool_launches(_workspace(request, project, workspace), pool)
    return Response(LaunchListSerializer({"launches": found}).data)


@extend_schema(
    parameters=[OpenApiParameter("only", str, many=True, description="Only these pools.")],
    responses={200: ExportSerializer, **errors(*WORKSPACE)},
)
@api_view(["GET"])
def export(request: Request, project: str, workspace: str) -> Response:
    """The workspace's pools as ``import`` takes them back."""
    only = request.query_params.getlist("only") or None
    return Response({"pools": export_pools(_workspace(request, project, workspace), only)})


@extend_schema(
    request=ImportSerializer,
    responses={200: ImportPlanSerializer, **errors(*WORKSPACE, *BODY, Code.NOT_FOUND)},
)
@api_view(["POST"])
def import_(request: Request, project: str, workspace: str) -> Response:
    """Create or replace pools as described; with ``dryRun``, only say what would change."""
    body = _valid(ImportSerializer, request)
    plan = import_pools(
        _workspace(request, project, workspace),
        body["pools"],
        only=body.get("only") or None,
        dry_run=body["dryRun"],
    )
    return Response({**plan, "dryRun": body["dryRun"]})
