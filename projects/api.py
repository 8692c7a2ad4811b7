"""API views of service tokens: list, create (the secret answered once) and revoke."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_fields import NoBodySerializer, validated
from coflux_server.api_schema import BODY, PROJECT, errors
from projects.access import project_by_name
from projects.errors import Code
from projects.permissions import principal_of
from projects.serializers import (
    CreatedTokenSerializer,
    CreateTokenSerializer,
    TokenListSerializer,
    TokenSerializer,
)
from projects.tokens import create_token, list_tokens, revoke_token


@extend_schema(methods=["GET"], responses={200: TokenListSerializer, **errors(*PROJECT)})
@extend_schema(
    methods=["POST"],
    request=CreateTokenSerializer,
    responses={201: CreatedTokenSerializer, **errors(*PROJECT, *BODY)},
)
@api_view(["GET", "POST"])
def tokens(request: Request, project: str) -> Response:
    """GET: the project's service tokens the caller administers. POST: create one, covering
    only workspaces the caller administers; its secret is in the answer, and nowhere else."""
    found = project_by_name(project)
    principal = principal_of(request)
    if request.method == "GET":
        return Response(TokenListSerializer({"tokens": list_tokens(principal, found)}).data)
    body = validated(CreateTokenSerializer, request.data)
    token, secret = create_token(principal, found, body["name"], body["workspaces"])
    return Response({**TokenSerializer(token).data, "token": secret}, status=201)


@extend_schema(
    request=NoBodySerializer,
    responses={200: TokenSerializer, **errors(*PROJECT, *BODY, Code.NOT_FOUND)},
)
@api_view(["POST"])
def revoke(request: Request, project: str, token_id: str) -> Response:
    """Revoke a token: refused from now on, and connections made with it are closed."""
    validated(NoBodySerializer, request.data)
    token = revoke_token(principal_of(request), project_by_name(project), token_id)
    return Response(TokenSerializer(token).data)
