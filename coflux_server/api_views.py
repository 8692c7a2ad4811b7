"""Server-wide API views: discovery, JSON 404s for paths the API does not know, and JSON 500s
for what escapes a view."""

from __future__ import annotations

from importlib.metadata import version

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_errors import error_response
from coflux_server.api_fields import QuerySerializer, Text, validated
from coflux_server.api_schema import ACCESS, errors
from projects.actions import Action
from projects.errors import Code, DomainError
from projects.models import Project
from projects.permissions import access_report, principal_of
from projects.principals import Kind

VERSION = version("coflux-server")


def api_version(server_version: str) -> str:
    """``0.<minor>`` before 1.0, then the major version: releases that stay compatible share it."""
    major, minor, *_ = server_version.split(".")
    return f"0.{minor}" if major == "0" else major


class GrantSerializer(serializers.Serializer):
    workspaces = serializers.CharField(help_text="A workspace pattern.")
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=[action.value for action in Action])
    )


class PrincipalSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[kind.value for kind in Kind])
    name = serializers.CharField()


class AccessSerializer(serializers.Serializer):
    principal = PrincipalSerializer(help_text="Who the server takes the caller to be.")
    workspaces = serializers.ListField(
        child=serializers.CharField(),
        help_text="Patterns of the workspaces the caller may see ('*': all).",
    )
    grants = GrantSerializer(many=True, help_text="What the caller may do where.")


class DiscoverySerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The server's version.")
    apiVersion = serializers.CharField(
        help_text="0.<minor> before 1.0, then the major version: clients send it as X-API-Version."
    )
    access = AccessSerializer(help_text="The caller's access, in the project it names.")


class DiscoverQuerySerializer(QuerySerializer):
    project = Text(
        required=False,
        allow_blank=True,
        help_text="The project whose access to report [default: the server's].",
    )


@extend_schema(
    parameters=[
        DiscoverQuerySerializer,
        OpenApiParameter(
            "X-API-Version",
            str,
            OpenApiParameter.HEADER,
            description="The API version the client expects; another is 409 version_mismatch.",
        ),
    ],
    responses={
        200: DiscoverySerializer,
        **errors(*ACCESS, Code.VERSION_MISMATCH, Code.INVALID_REQUEST),
    },
)
@api_view(["GET"])
def discover(request: Request) -> Response:
    """The server's version, the version of its API, and what the caller may do."""
    current = api_version(VERSION)
    expected = request.headers.get("X-API-Version")
    if expected is not None and expected.strip() != current:
        raise DomainError(
            f"The server speaks API version {current}, not {expected.strip()!r}.",
            code=Code.VERSION_MISMATCH,
            details={"server": current, "expected": expected.strip()},
        )
    query = validated(DiscoverQuerySerializer, request.query_params)
    name = query.get("project") or settings.COFLUX_PROJECT
    project_id = Project.objects.filter(name=name).values_list("id", flat=True).first()
    access = access_report(principal_of(request), project_id)
    return Response(
        DiscoverySerializer({"version": VERSION, "apiVersion": current, "access": access}).data
    )


@csrf_exempt
def not_found(request: HttpRequest, path: str) -> JsonResponse:
    error = DomainError(f"No API endpoint at /api/{path}.", code=Code.NOT_FOUND)
    return error_response(error)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler, for a failure outside a view's own handling (in rendering, in a
    middleware); Django has logged it on ``django.request``. JSON for the API and the blob
    store, Django's page elsewhere."""
    if request.path.startswith(("/api/", "/blobs/")):
        return error_response(DomainError("Internal server error.", code=Code.INTERNAL_ERROR))
    return defaults.server_error(request)
