"""API views of inputs: list a workspace's, read one, respond to or dismiss one."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_schema import BODY, PROJECT, errors
from projects.access import project_by_name
from projects.actions import Action
from projects.errors import Code
from projects.permissions import authorize, principal_of
from runs.input_serializers import (
    DismissSerializer,
    InputListSerializer,
    InputSerializer,
    RespondSerializer,
)
from runs.inputs import (
    check_may_answer,
    dismiss_input,
    input_by_id,
    respond_input,
    workspace_inputs,
)
from workspaces import api as workspaces_api

WORKSPACE = (*PROJECT, Code.INVALID_WORKSPACE, Code.WORKSPACE_NOT_FOUND)
ANSWER = (
    *PROJECT,
    *BODY,
    Code.INPUT_NOT_FOUND,
    Code.INVALID_RESPONSE,
    Code.INPUT_ALREADY_ANSWERED,
    Code.ORCHESTRATOR_UNAVAILABLE,
)
"""Refusals of a response or a dismissal (``forbidden`` also for a person the input's
``requires`` is not for)."""


@extend_schema(
    parameters=[
        OpenApiParameter("run", str, description="Only this run's inputs."),
        OpenApiParameter("state", str, enum=["pending", "responded", "dismissed", "cancelled"]),
    ],
    responses={200: InputListSerializer, **errors(*WORKSPACE)},
)
@api_view(["GET"])
def workspace_input_list(request: Request, project: str, workspace: str) -> Response:
    """The inputs asked in a workspace, oldest first."""
    space = workspaces_api.authorized(request, project, workspace, Action.VIEW)
    found = workspace_inputs(
        space,
        run_id=request.query_params.get("run") or None,
        state=request.query_params.get("state") or None,
    )
    return Response(InputListSerializer({"inputs": found}).data)


def _input_id(run_id: str, number: str) -> str:
    return f"{run_id}/{number}"


@extend_schema(responses={200: InputSerializer, **errors(*PROJECT, Code.INPUT_NOT_FOUND)})
@api_view(["GET"])
def input_detail(request: Request, project: str, run_id: str, number: str) -> Response:
    """An input, named ``<run>/i<n>``."""
    found = input_by_id(project_by_name(project), _input_id(run_id, number))
    authorize(request, Action.VIEW, found.workspace)
    return Response(InputSerializer(found).data)


@extend_schema(request=RespondSerializer, responses={200: InputSerializer, **errors(*ANSWER)})
@api_view(["POST"])
def respond(request: Request, project: str, run_id: str, number: str) -> Response:
    """Answer an input, once; the value must match its schema. A person must be in the groups
    its ``requires`` names (``<key>:<value>``, one value of every key)."""
    body = RespondSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    owner = project_by_name(project)
    asked = input_by_id(owner, _input_id(run_id, number))
    who = principal_of(request)
    check_may_answer(who, asked)
    found = respond_input(owner, asked.id, body.validated_data["value"], by=who.name)
    return Response(InputSerializer(found).data)


@extend_schema(request=DismissSerializer, responses={200: InputSerializer, **errors(*ANSWER)})
@api_view(["POST"])
def dismiss(request: Request, project: str, run_id: str, number: str) -> Response:
    """Decline to answer an input: whoever waits for it gets ``InputDismissed``."""
    DismissSerializer(data=request.data).is_valid(raise_exception=True)
    owner = project_by_name(project)
    asked = input_by_id(owner, _input_id(run_id, number))
    who = principal_of(request)
    check_may_answer(who, asked)
    found = dismiss_input(owner, asked.id, by=who.name)
    return Response(InputSerializer(found).data)
