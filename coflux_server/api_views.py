"""Server-wide API views: discovery, JSON 404s for paths the API does not know, and JSON 500s
for what escapes a view."""

from __future__ import annotations

from importlib.metadata import version

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_errors import error_response
from projects.errors import Code, DomainError

VERSION = version("coflux-server")


def api_version(server_version: str) -> str:
    """``0.<minor>`` before 1.0, then the major version: releases that stay compatible share it."""
    major, minor, *_ = server_version.split(".")
    return f"0.{minor}" if major == "0" else major


class DiscoverySerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The server's version.")
    apiVersion = serializers.CharField(
        help_text="0.<minor> before 1.0, then the major version: clients send it as X-API-Version."
    )


@extend_schema(responses=DiscoverySerializer)
@api_view(["GET"])
def discover(request: Request) -> Response:
    """The server's version and the version of its API."""
    return Response(
        DiscoverySerializer({"version": VERSION, "apiVersion": api_version(VERSION)}).data
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
