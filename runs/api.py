"""API views of runs: submitting, listing, inspecting and awaiting them; cancelling and re-running
their executions; a workspace's worker sessions and queue.

Each view checks its input against a serializer of ``runs.serializers``, finds the project and
the workspace (or the run) the request names, makes one domain call and renders the answer
with a serializer: the same serializers make the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_async import async_api_view, json_body
from coflux_server.api_fields import NoBodySerializer, validated
from coflux_server.api_schema import BODY, PROJECT, errors
from coflux_wire.values import MAX_DATA_DEPTH, depth
from projects.access import project_by_name
from projects.actions import Action
from projects.errors import Code
from projects.models import Project
from projects.permissions import authorize, principal_of
from runs.access import execution_workspace, run_workspace, step_workspace
from runs.control import cancel_execution, rerun_step
from runs.logs import await_logs
from runs.metrics import run_metrics
from runs.models import Execution
from runs.queue import workspace_queue
from runs.run_list import list_runs
from runs.serializers import (
    CancelledSerializer,
    LogPageSerializer,
    LogQuerySerializer,
    MetricPageSerializer,
    MetricQuerySerializer,
    OutcomeSerializer,
    QueueSerializer,
    RerunSerializer,
    RerunStartedSerializer,
    RunListQuerySerializer,
    RunListSerializer,
    RunSerializer,
    SessionListSerializer,
    SubmitSerializer,
    SubmittedSerializer,
    WaitQuerySerializer,
)
from runs.snapshots import await_outcome, run_by_id, run_snapshot
from runs.submission import UNSET, InvalidArguments, Submission, overrides_of, submit
from runs.values import from_plain_json
from runs.worker_sessions import workspace_sessions
from workspaces import api as workspaces_api
from workspaces.lookups import workspace_for_read

WORKSPACE = (*PROJECT, Code.INVALID_WORKSPACE, Code.WORKSPACE_NOT_FOUND)
"""Refusals of a path naming a workspace to read."""


def _values(arguments: list[Any]) -> list[dict[str, Any]]:
    """The arguments as wire values, whose data the worker protocol lets nest at most
    ``MAX_DATA_DEPTH`` levels (an object takes two: it is encoded as a list of its items)."""
    values = [from_plain_json(argument) for argument in arguments]
    if any(depth(value["data"], MAX_DATA_DEPTH) > MAX_DATA_DEPTH for value in values):
        raise InvalidArguments(
            f"An argument nests too deeply: at most {MAX_DATA_DEPTH} levels of lists, "
            "each object counting as two."
        )
    return values


def _submitted(execution: Execution) -> dict[str, Any]:
    ids = {
        "run_id": execution.step.run_id,
        "step_id": execution.step_id,
        "execution_id": execution.id,
    }
    return SubmittedSerializer(ids).data


@extend_schema(
    methods=["GET"],
    operation_id="runs_list",
    parameters=[RunListQuerySerializer],
    responses={200: RunListSerializer, **errors(*WORKSPACE)},
)
@extend_schema(
    methods=["POST"],
    operation_id="runs_submit",
    parameters=[WaitQuerySerializer],
    request=SubmitSerializer,
    responses={
        201: SubmittedSerializer,
        200: OpenApiResponse(
            SubmittedSerializer, description="The run submitted earlier with that idempotency key."
        ),
        **errors(
            *PROJECT,
            *BODY,
            Code.INVALID_WORKSPACE,
            Code.TARGET_NOT_FOUND,
            Code.INVALID_ARGUMENTS,
        ),
    },
)
@extend_schema(methods=["PATCH"], exclude=True)
@async_api_view(["GET", "HEAD", "POST", "PATCH"])
async def workspace_runs(request: HttpRequest, project: str, workspace: str) -> HttpResponseBase:
    """GET: the workspace's runs, newest first. POST: start a run of a registered workflow (the
    workspace is created if it does not exist); with ``wait``, the answer also holds the run's
    outcome once it finishes (or as it stands when the time is up)."""
    if request.method != "POST":
        return await sync_to_async(_runs_or_rename)(request, project, workspace)
    body = validated(SubmitSerializer, json_body(request))
    wait = validated(WaitQuerySerializer, request.GET)["wait"]
    found, submission = await sync_to_async(_submit)(request, project, workspace, body)
    answer = dict(_submitted(submission.execution))
    if wait:
        outcome = await await_outcome(found, answer["runId"], wait)
        answer.update(OutcomeSerializer(outcome).data)
    return JsonResponse(answer, status=201 if submission.created else 200)


def _submit(
    request: HttpRequest, project: str, workspace: str, body: dict[str, Any]
) -> tuple[Project, Submission]:
    space = workspaces_api.authorized(request, project, workspace, Action.OPERATE, create=True)
    submission = submit(
        space,
        body["module"],
        body["target"],
        _values(body["arguments"]),
        idempotency_key=body.get("idempotencyKey", ""),
        overrides=overrides_of(
            delay=body.get("delay"),
            retries=body.get("retries"),
            requires=body.get("requires", UNSET),
            memo=body.get("memo"),
        ),
        created_by=principal_of(request).name,
    )
    return space.project, submission


@api_view(["GET", "PATCH"])
def _runs_or_rename(request: Request, project: str, workspace: str) -> Response:
    if request.method == "PATCH":
        # ``workspaces/a/runs`` also names the workspace ``a/runs``; see workspaces.api.
        return workspaces_api.update(request, project, f"{workspace}/runs")
    query = validated(RunListQuerySerializer, request.query_params)
    space = workspaces_api.authorized(request, project, workspace, Action.VIEW)
    workflow = query.get("workflow")
    found = list_runs(
        space,
        status=query.get("status"),
        workflow=tuple(workflow.rsplit("/", 1)) if workflow else None,
        since=query.get("since"),
        limit=query["limit"],
    )
    return Response(RunListSerializer({"runs": found}).data)


@extend_schema(
    request=NoBodySerializer,
    responses={
        200: CancelledSerializer,
        **errors(*PROJECT, *BODY, Code.EXECUTION_NOT_FOUND, Code.ORCHESTRATOR_UNAVAILABLE),
    },
)
@api_view(["POST"])
def cancel(request: Request, project: str, execution_id: str) -> Response:
    """Cancel the execution (following forwards) and its unfinished descendants."""
    validated(NoBodySerializer, request.data)
    found = project_by_name(project)
    authorize(request, Action.OPERATE, execution_workspace(found, execution_id))
    cancelled = cancel_execution(found, execution_id)
    return Response(CancelledSerializer({"cancelled": cancelled}).data)


@extend_schema(
    request=RerunSerializer,
    responses={
        201: RerunStartedSerializer,
        **errors(
            *PROJECT,
            *BODY,
            Code.STEP_NOT_FOUND,
            Code.INVALID_WORKSPACE,
            Code.WORKSPACE_NOT_FOUND,
            Code.WORKSPACE_INVALID,
            Code.ORCHESTRATOR_UNAVAILABLE,
        ),
    },
)
@api_view(["POST"])
def rerun(request: Request, project: str, step_id: str) -> Response:
    """Start a new attempt at the step, due now and ignoring the cache; the step's unfinished
    executions in that workspace are cancelled."""
    body = validated(RerunSerializer, request.data)
    found = project_by_name(project)
    name = body.get("workspace")
    # Operating where the attempt runs, having seen the step where it ran last.
    latest = step_workspace(found, step_id)
    authorize(request, Action.OPERATE, name or latest, project_id=found.id)
    authorize(request, Action.VIEW, latest)
    space = workspace_for_read(found, name) if name is not None else None
    started = rerun_step(found, step_id, space)
    return Response(RerunStartedSerializer(started).data, status=201)


@extend_schema(responses={200: RunSerializer, **errors(*PROJECT, Code.RUN_NOT_FOUND)})
@api_view(["GET"])
def run_detail(request: Request, project: str, run_id: str) -> Response:
    """The run: its steps, their executions, states, timings, results and dependencies, and how
    each step was resolved (executed, cached, memoised)."""
    run = run_by_id(project_by_name(project), run_id)
    authorize(request, Action.VIEW, run.workspace)
    return Response(RunSerializer(run_snapshot(run)).data)


@extend_schema(
    parameters=[LogQuerySerializer],
    responses={200: LogPageSerializer, **errors(*PROJECT, Code.RUN_NOT_FOUND)},
)
@async_api_view(["GET"])
async def run_log(request: HttpRequest, project: str, run_id: str) -> JsonResponse:
    """A page of the run's log lines. With ``wait`` a request finding nothing new is held until
    lines arrive, the run finishes or time is up (long polling)."""
    query = validated(LogQuerySerializer, request.GET)
    found = await sync_to_async(_run_project)(request, project, run_id)
    page = await await_logs(
        found,
        run_id,
        wait=query["wait"],
        execution=query.get("execution") or None,
        after=query.get("after"),
        from_ms=query.get("from"),
    )
    return JsonResponse(LogPageSerializer(page).data)


@extend_schema(
    parameters=[MetricQuerySerializer],
    responses={200: MetricPageSerializer, **errors(*PROJECT, Code.RUN_NOT_FOUND)},
)
@api_view(["GET"])
def run_metric_series(request: Request, project: str, run_id: str) -> Response:
    """The run's metric definitions and points, per execution."""
    query = validated(MetricQuerySerializer, request.query_params)
    found = _run_project(request, project, run_id)
    page = run_metrics(
        found,
        run_id,
        execution=query.get("execution") or None,
        after=query.get("after"),
    )
    return Response(MetricPageSerializer(page).data)


@extend_schema(
    parameters=[WaitQuerySerializer],
    responses={200: OutcomeSerializer, **errors(*PROJECT, Code.RUN_NOT_FOUND)},
)
@async_api_view(["GET"])
async def run_result(request: HttpRequest, project: str, run_id: str) -> JsonResponse:
    """The run's outcome: its root step's latest attempt, forwards followed; with ``wait`` held
    until the run finishes or time is up."""
    query = validated(WaitQuerySerializer, request.GET)
    found = await sync_to_async(_run_project)(request, project, run_id)
    outcome = await await_outcome(found, run_id, query["wait"])
    return JsonResponse(OutcomeSerializer(outcome).data)


@extend_schema(methods=["GET"], responses={200: SessionListSerializer, **errors(*WORKSPACE)})
@extend_schema(methods=["PATCH"], exclude=True)
@api_view(["GET", "PATCH"])
def sessions(request: Request, project: str, workspace: str) -> Response:
    """The workspace's live worker sessions, oldest first."""
    if request.method == "PATCH":
        return workspaces_api.update(request, project, f"{workspace}/sessions")
    space = workspaces_api.authorized(request, project, workspace, Action.VIEW)
    return Response(SessionListSerializer({"sessions": workspace_sessions(space)}).data)


@extend_schema(methods=["GET"], responses={200: QueueSerializer, **errors(*WORKSPACE)})
@extend_schema(methods=["PATCH"], exclude=True)
@api_view(["GET", "PATCH"])
def queue(request: Request, project: str, workspace: str) -> Response:
    """The workspace's unfinished executions and what each waits for."""
    if request.method == "PATCH":
        return workspaces_api.update(request, project, f"{workspace}/queue")
    space = workspaces_api.authorized(request, project, workspace, Action.VIEW)
    return Response(QueueSerializer({"executions": workspace_queue(space)}).data)


def _run_project(request: HttpRequest | Request, project: str, run_id: str) -> Project:
    """The project named, once the request may view the workspace the run is in."""
    found = project_by_name(project)
    authorize(request, Action.VIEW, run_workspace(found, run_id))
    return found
