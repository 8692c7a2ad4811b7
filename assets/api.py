"""API views of assets: recording one (its files are in the blob store already) and reading it.

Each view checks its input against a serializer of ``assets.serializers``, finds the project
(and the execution an asset names), makes one domain call and renders the answer with a
serializer: the same serializers make the OpenAPI schema.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from assets.models import Asset
from assets.serializers import AssetSerializer, NewAssetSerializer
from coflux_server.api_fields import validated
from coflux_server.api_schema import BODY, PROJECT, errors
from projects.access import project_by_name
from projects.actions import Action
from projects.errors import Code, DomainError
from projects.models import Project
from projects.permissions import authorize
from runs.access import existing_execution
from runs.models import Execution


def _execution(project: Project, execution_id: str | None) -> Execution | None:
    return None if execution_id is None else existing_execution(project, execution_id)


def _authorize(
    request: Request, action: Action, project: Project, execution: Execution | None
) -> None:
    """An asset belongs to the workspace of the execution that made it; one made by none, to
    whoever may ``action`` somewhere in the project."""
    if execution is not None:
        authorize(request, action, execution.workspace)
    else:
        authorize(request, action, project_id=project.id)


@extend_schema(
    request=NewAssetSerializer,
    responses={201: AssetSerializer, **errors(*PROJECT, *BODY, Code.EXECUTION_NOT_FOUND)},
)
@api_view(["POST"])
def assets(request: Request, project: str) -> Response:
    """Record an asset whose files are in the blob store already."""
    body = validated(NewAssetSerializer, request.data)
    found = project_by_name(project)
    entries = {
        path: {"blob_key": entry["blobKey"], "size": entry["size"], "metadata": entry["metadata"]}
        for path, entry in body["entries"].items()
    }
    execution = _execution(found, body.get("executionId"))
    _authorize(request, Action.OPERATE, found, execution)
    asset = Asset.objects.record(
        found, name=body.get("name") or "", execution=execution, entries=entries
    )
    return Response(AssetSerializer(Asset.objects.for_project(found, asset.id)).data, status=201)


@extend_schema(responses={200: AssetSerializer, **errors(*PROJECT, Code.ASSET_NOT_FOUND)})
@api_view(["GET"])
def asset_detail(request: Request, project: str, asset_id: str) -> Response:
    """An asset: its name, the execution that made it, and its entries by path."""
    found = project_by_name(project)
    asset = Asset.objects.for_project(found, asset_id)
    if asset is None:
        raise DomainError(f"No asset {asset_id!r}.", code=Code.ASSET_NOT_FOUND)
    _authorize(request, Action.VIEW, found, asset.execution)
    return Response(AssetSerializer(asset).data)
