"""API views of runs: submitting, listing, inspecting and awaiting them."""

from __future__ import annotations

import math
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_errors import ApiError, error_response
from projects.access import project_by_name, workspace_for_read, workspace_for_write
from runs.logs import run_logs
from runs.models import Execution
from runs.snapshots import (
    MAX_WAIT_SECONDS,
    await_outcome,
    recent_runs,
    run_by_id,
    run_snapshot,
)
from runs.submission import InvalidArguments, find_idempotent_submission, submit_run
from runs.values import from_plain_json

_SUBMISSION_KEYS = {"module", "target", "arguments", "idempotency_key"}


class InvalidRequest(ApiError):
    code = "invalid_request"


def _parse_submission(data: Any) -> tuple[str, str, list[Any], str]:
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    unknown = set(data) - _SUBMISSION_KEYS
    if unknown:
        raise InvalidRequest(f"Unknown field {sorted(unknown)[0]!r}.")
    module, target = data.get("module"), data.get("target")
    if not isinstance(module, str) or not module:
        raise InvalidRequest("'module' must be a non-empty string.")
    if not isinstance(target, str) or not target:
        raise InvalidRequest("'target' must be a non-empty string.")
    arguments = data.get("arguments", [])
    if not isinstance(arguments, list):
        raise InvalidArguments("'arguments' must be a list of JSON values.")
    key = data.get("idempotency_key", "")
    if not isinstance(key, str) or len(key) > 200:
        raise InvalidRequest("'idempotency_key' must be a string of at most 200 characters.")
    return module, target, arguments, key


def _submitted(execution: Execution) -> dict[str, str]:
    return {
        "run_id": execution.step.run_id,
        "step_id": execution.step_id,
        "execution_id": execution.id,
    }


@api_view(["GET", "POST"])
def workspace_runs(request: Request, project: str, workspace: str) -> Response:
    found = project_by_name(project)
    if request.method == "GET":
        return Response(recent_runs(workspace_for_read(found, workspace)))
    module, target, arguments, key = _parse_submission(request.data)
    space = workspace_for_write(found, workspace)
    existing = find_idempotent_submission(space, key) if key else None
    if existing is not None:
        return Response(_submitted(existing), status=200)
    values = [from_plain_json(argument) for argument in arguments]
    execution = submit_run(space, module, target, values, idempotency_key=key)
    return Response(_submitted(execution), status=201)


@api_view(["GET"])
def run_detail(request: Request, project: str, run_id: str) -> Response:
    return Response(run_snapshot(run_by_id(project_by_name(project), run_id)))


@api_view(["GET"])
def run_log(request: Request, project: str, run_id: str) -> Response:
    after = request.query_params.get("after")
    if after is not None and not after.isdigit():
        raise InvalidRequest("'after' must be a cursor returned by an earlier request.")
    page = run_logs(
        project_by_name(project),
        run_id,
        execution=request.query_params.get("execution") or None,
        after=int(after) if after is not None else None,
    )
    return Response(page)


def _parse_wait(raw: str | None) -> float:
    if raw is None or raw == "":
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        wait = math.nan
    if not math.isfinite(wait) or wait < 0:
        raise ApiError(
            f"'wait' must be a number of seconds from 0 to {MAX_WAIT_SECONDS:g}.",
            code="invalid_wait",
        )
    return min(wait, MAX_WAIT_SECONDS)


async def run_result(request: HttpRequest, project: str, run_id: str) -> JsonResponse:
    """The run's outcome; with ``?wait=<seconds>`` held until the run finishes or time is up."""
    if request.method != "GET":
        response = error_response(
            ApiError(f"Method {request.method} not allowed.", code="method_not_allowed", status=405)
        )
        response["Allow"] = "GET"
        return response
    try:
        wait = _parse_wait(request.GET.get("wait"))
        found = await sync_to_async(project_by_name)(project)
        outcome = await await_outcome(found, run_id, wait)
    except ApiError as error:
        return error_response(error)
    return JsonResponse(outcome)
