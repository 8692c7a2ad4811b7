"""API views of workspaces: their manifests."""

from __future__ import annotations

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from projects.access import project_by_name, workspace_for_read, workspace_for_write
from workspaces.manifests import parse_manifests, register_manifests, workspace_manifests


@api_view(["GET", "POST"])
def manifests(request: Request, project: str, workspace: str) -> Response:
    found = project_by_name(project)
    if request.method == "GET":
        return Response({"modules": workspace_manifests(workspace_for_read(found, workspace))})
    definitions = parse_manifests(request.data)
    modules = register_manifests(workspace_for_write(found, workspace), definitions)
    return Response({"modules": [module.name for module in modules]})
