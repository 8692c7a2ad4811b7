"""API views of runs: submitting, listing, inspecting and awaiting them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from coflux_server.api_async import async_api_view
from coflux_server.api_input import (
    InvalidRequest,
    is_integer,
    is_number,
    json_object,
    query_int,
)
from coflux_wire.values import MAX_DATA_DEPTH, depth
from projects.access import project_by_name
from projects.errors import Code, DomainError
from runs.control import cancel_execution, rerun_step
from runs.logs import await_logs
from runs.metrics import run_metrics
from runs.models import Execution
from runs.queue import workspace_queue
from runs.snapshots import (
    MAX_WAIT_SECONDS,
    await_outcome,
    recent_runs,
    run_by_id,
    run_snapshot,
)
from runs.submission import InvalidArguments, find_idempotent_submission, submit_run
from runs.values import from_plain_json
from runs.worker_sessions import workspace_sessions
from workspaces import api as workspaces_api
from workspaces.lookups import workspace_for_read, workspace_for_write

_SUBMISSION_KEYS = {
    "module",
    "target",
    "arguments",
    "idempotency_key",
    "delay",
    "retries",
    "requires",
    "memo",
}
MAX_DELAY_SECONDS = 366 * 24 * 3600
MAX_RETRIES = 10_000


@dataclass(frozen=True)
class Submission:
    module: str
    target: str
    arguments: list[Any]
    idempotency_key: str
    overrides: dict[str, Any]
    """Options of the root step to replace, in their stored shape."""


def _parse_submission(data: Any) -> Submission:
    body = json_object(data, _SUBMISSION_KEYS)
    module, target = body.get("module"), body.get("target")
    if not isinstance(module, str) or not module:
        raise InvalidRequest("'module' must be a non-empty string.")
    if not isinstance(target, str) or not target:
        raise InvalidRequest("'target' must be a non-empty string.")
    arguments = body.get("arguments", [])
    if not isinstance(arguments, list):
        raise InvalidArguments("'arguments' must be a list of JSON values.")
    key = body.get("idempotency_key", "")
    if not isinstance(key, str) or len(key) > 200:
        raise InvalidRequest("'idempotency_key' must be a string of at most 200 characters.")
    return Submission(module, target, arguments, key, _parse_overrides(body))


def _parse_overrides(body: dict[str, Any]) -> dict[str, Any]:
    """``delay`` (seconds), ``retries`` (count), ``requires`` and ``memo`` as stored options."""
    overrides: dict[str, Any] = {}
    if "delay" in body:
        delay = body["delay"]
        if not is_number(delay) or not 0 <= delay <= MAX_DELAY_SECONDS:
            raise InvalidRequest(
                f"'delay' must be a number of seconds from 0 to {MAX_DELAY_SECONDS}."
            )
        overrides["delay_ms"] = round(delay * 1000)
    if "retries" in body:
        retries = body["retries"]
        if not is_integer(retries) or not 0 <= retries <= MAX_RETRIES:
            raise InvalidRequest(
                f"'retries' must be a whole number from 0 (no retries) to {MAX_RETRIES}."
            )
        # As the SDK's ``retries=n``: up to n retries, each straight after the failure.
        overrides["retries"] = (
            {"limit": retries, "backoff_min_ms": 0, "backoff_max_ms": 0} if retries else None
        )
    if "requires" in body:
        overrides["requires"] = _parse_requires(body["requires"])
    if "memo" in body:
        if not isinstance(body["memo"], bool):
            raise InvalidRequest("'memo' must be true or false.")
        overrides["memo"] = body["memo"]
    return overrides


def _parse_requires(requires: Any) -> dict[str, list[str]] | None:
    if requires is None:
        return None
    message = "'requires' must be null or an object mapping tag names to lists of strings."
    if not isinstance(requires, dict):
        raise InvalidRequest(message)
    for key, values in requires.items():
        if not key or len(key) > 100:
            raise InvalidRequest(f"Invalid tag name {key!r} in 'requires'.")
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise InvalidRequest(f"'requires[{key!r}]' must be a list of non-empty strings.")
    return {key: list(values) for key, values in requires.items()}


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


def _submitted(execution: Execution) -> dict[str, str]:
    return {
        "run_id": execution.step.run_id,
        "step_id": execution.step_id,
        "execution_id": execution.id,
    }


@api_view(["GET", "POST", "PATCH"])
def workspace_runs(request: Request, project: str, workspace: str) -> Response:
    if request.method == "PATCH":
        # ``workspaces/a/runs`` also names the workspace ``a/runs``; see workspaces.api.
        return workspaces_api.update(request, project, f"{workspace}/runs")
    found = project_by_name(project)
    if request.method == "GET":
        return Response(recent_runs(workspace_for_read(found, workspace)))
    submission = _parse_submission(request.data)
    space = workspace_for_write(found, workspace)
    key = submission.idempotency_key
    existing = find_idempotent_submission(space, key) if key else None
    if existing is not None:
        return Response(_submitted(existing), status=200)
    values = _values(submission.arguments)
    execution = submit_run(
        space,
        submission.module,
        submission.target,
        values,
        idempotency_key=key,
        overrides=submission.overrides,
    )
    return Response(_submitted(execution), status=201)


@api_view(["POST"])
def cancel(request: Request, project: str, execution_id: str) -> Response:
    """Cancel the execution and its unfinished descendants: ``{"cancelled": [ids]}``."""
    json_object(request.data, ())
    return Response({"cancelled": cancel_execution(project_by_name(project), execution_id)})


@api_view(["POST"])
def rerun(request: Request, project: str, step_id: str) -> Response:
    """Start a new attempt at the step, in ``{"workspace"?: name}``, by default the step's own."""
    body = json_object(request.data, {"workspace"})
    found = project_by_name(project)
    name = body.get("workspace")
    if name is not None and not isinstance(name, str):
        raise InvalidRequest("'workspace' must be a workspace name or null.")
    space = workspace_for_read(found, name) if name is not None else None
    return Response(rerun_step(found, step_id, space), status=201)


@api_view(["GET"])
def run_detail(request: Request, project: str, run_id: str) -> Response:
    return Response(run_snapshot(run_by_id(project_by_name(project), run_id)))


MAX_EPOCH_MS = 253_402_300_799_999
"""The last millisecond of year 9999, the latest moment Python's datetime holds."""


def _parse_cursor(raw: str | None) -> int | None:
    return query_int(raw, "'after' must be a cursor returned by an earlier request.")


def _parse_from(raw: str | None) -> int | None:
    return query_int(
        raw, "'from' must be a time in milliseconds since the epoch.", maximum=MAX_EPOCH_MS
    )


@async_api_view(["GET"])
async def run_log(request: HttpRequest, project: str, run_id: str) -> JsonResponse:
    """A page of the run's log lines: ``?execution=&after=<cursor>&from=<ms>``.

    With ``?wait=<seconds>`` a request finding nothing new is held until lines arrive, the run
    finishes or time is up (see ``runs.logs``).
    """
    execution = request.GET.get("execution") or None
    after = _parse_cursor(request.GET.get("after"))
    from_ms = _parse_from(request.GET.get("from"))
    wait = _parse_wait(request.GET.get("wait"))
    found = await sync_to_async(project_by_name)(project)
    page = await await_logs(
        found, run_id, wait=wait, execution=execution, after=after, from_ms=from_ms
    )
    return JsonResponse(page)


@api_view(["GET"])
def run_metric_series(request: Request, project: str, run_id: str) -> Response:
    """The run's metric definitions and points per execution: ``?execution=&after=<cursor>``."""
    execution = request.query_params.get("execution") or None
    after = _parse_cursor(request.query_params.get("after"))
    page = run_metrics(project_by_name(project), run_id, execution=execution, after=after)
    return Response(page)


def _parse_wait(raw: str | None) -> float:
    if raw is None or raw == "":
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        wait = math.nan
    if not math.isfinite(wait) or wait < 0:
        raise DomainError(
            f"'wait' must be a number of seconds from 0 to {MAX_WAIT_SECONDS:g}.",
            code=Code.INVALID_WAIT,
        )
    return min(wait, MAX_WAIT_SECONDS)


@async_api_view(["GET"])
async def run_result(request: HttpRequest, project: str, run_id: str) -> JsonResponse:
    """The run's outcome; with ``?wait=<seconds>`` held until the run finishes or time is up."""
    wait = _parse_wait(request.GET.get("wait"))
    found = await sync_to_async(project_by_name)(project)
    return JsonResponse(await await_outcome(found, run_id, wait))


@api_view(["GET", "PATCH"])
def sessions(request: Request, project: str, workspace: str) -> Response:
    """The workspace's live worker sessions."""
    return workspaces_api.reading(
        request, project, workspace, "sessions", lambda s: {"sessions": workspace_sessions(s)}
    )


@api_view(["GET", "PATCH"])
def queue(request: Request, project: str, workspace: str) -> Response:
    """The workspace's unfinished executions and what each waits for."""
    return workspaces_api.reading(
        request, project, workspace, "queue", lambda s: {"executions": workspace_queue(s)}
    )
