"""What the API tells about runs: snapshots, outcomes and lists, as plain JSON-ready dicts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from coflux_server.api_errors import ApiError
from projects.models import Project
from runs.models import Execution, Result, Run, Step
from runs.orchestration.bus import run_group
from runs.states import RESULT_STATE, RUN_STATUS, UNFINISHED, State
from workspaces.models import Workspace

UNFINISHED_STATUSES = frozenset({"queued", "running"})
MAX_WAIT_SECONDS = 60.0
RECHECK_SECONDS = 2.0


class RunNotFound(ApiError):
    code = "run_not_found"
    status = 404


def _result_of(execution: Execution) -> Result | None:
    try:
        return execution.result
    except Result.DoesNotExist:
        return None


MAX_FORWARDS = 100


def final_result(execution: Execution) -> Result | None:
    """The result that decides the execution's outcome: its own, or where its forwards lead
    (a retry, a deferred call's survivor, a spawned run's root, …); ``None`` while pending."""
    result = _result_of(execution)
    for _ in range(MAX_FORWARDS):
        if result is None or result.successor_id is None:
            return result
        result = Result.objects.filter(execution_id=result.successor_id).first()
    return None


def run_status(execution: Execution | None) -> str:
    """The status of a run, given the latest attempt at its root step."""
    if execution is None:
        return "queued"
    if execution.state in UNFINISHED:
        return RUN_STATUS[State(execution.state)]
    result = final_result(execution)
    if result is None:
        return "running"
    return RUN_STATUS.get(RESULT_STATE[result.type], "running")


def _result_message(execution: Execution | None) -> dict[str, Any] | None:
    result = final_result(execution) if execution is not None else None
    if result is None:
        return None
    message = result.as_message()
    message.pop("successor", None)
    return message


def _own_result(execution: Execution) -> dict[str, Any] | None:
    """The execution's own result, with ``successor`` if it forwards to another execution."""
    result = _result_of(execution)
    return result.as_message() if result is not None else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def run_by_id(project: Project, run_id: str) -> Run:
    """The project's run with everything its snapshot shows."""
    try:
        return Run.objects.with_steps().get(project=project, pk=run_id)
    except Run.DoesNotExist:
        raise RunNotFound(f"No run {run_id!r}.") from None


def run_snapshot(run: Run) -> dict[str, Any]:
    """The run as the API shows it; ``run`` comes from ``Run.objects.with_steps()``."""
    steps = list(run.steps.all())
    root = next((step for step in steps if step.number == 1), None)
    latest = _latest(root)
    return {
        "id": run.id,
        "workspace": run.workspace.name,
        "parent": run.parent_id,
        "created_at": _iso(run.created_at),
        "status": run_status(latest),
        "result": _result_message(latest),
        "steps": [_step_snapshot(step) for step in steps],
    }


def _latest(step: Step | None) -> Execution | None:
    if step is None:
        return None
    executions = list(step.executions.all())
    return max(executions, key=lambda e: e.attempt) if executions else None


def _step_snapshot(step: Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "number": step.number,
        "module": step.module,
        "target": step.target,
        "type": step.target_type,
        "parent": step.parent_id,
        "group": step.group,
        "group_name": step.group_name or None,
        "arguments": step.arguments,
        "created_at": _iso(step.created_at),
        "executions": [_execution_snapshot(e) for e in step.executions.all()],
    }


def _execution_snapshot(execution: Execution) -> dict[str, Any]:
    return {
        "id": execution.id,
        "attempt": execution.attempt,
        "state": execution.state,
        "workspace": execution.workspace.name,
        "session": execution.session_id,
        "created_at": _iso(execution.created_at),
        "assigned_at": _iso(execution.assigned_at),
        "started_at": _iso(execution.started_at),
        "completed_at": _iso(execution.completed_at),
        "result": _own_result(execution),
        "dependencies": [d.dependency_id for d in execution.dependencies.all()],
    }


def run_outcome(project: Project, run_id: str) -> dict[str, Any]:
    """``{"run_id", "status", "result"}`` of the run, in one query."""
    latest = Execution.objects.latest_root(project, run_id)
    if latest is None:
        raise RunNotFound(f"No run {run_id!r}.")
    return {"run_id": run_id, "status": run_status(latest), "result": _result_message(latest)}


async def await_outcome(project: Project, run_id: str, timeout: float) -> dict[str, Any]:
    """The run's outcome once it has finished, or as it stands after ``timeout`` seconds.

    The orchestrator announces a run's end on the run's group after committing it; the
    database is still read again every few seconds in case an announcement went missing.
    """
    deadline = time.monotonic() + min(timeout, MAX_WAIT_SECONDS)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = run_group(run_id)
    await layer.group_add(group, channel)
    try:
        while True:
            outcome = await sync_to_async(run_outcome)(project, run_id)
            remaining = deadline - time.monotonic()
            if outcome["status"] not in UNFINISHED_STATUSES or remaining <= 0:
                return outcome
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(layer.receive(channel), min(remaining, RECHECK_SECONDS))
    finally:
        await layer.group_discard(group, channel)


def recent_runs(workspace: Workspace) -> list[dict[str, Any]]:
    """The workspace's latest 50 runs, newest first."""
    runs = Run.objects.with_root().recent(workspace)
    listed = []
    for run in runs:
        root = run.root_steps[0] if run.root_steps else None
        listed.append(
            {
                "id": run.id,
                "module": root.module if root else None,
                "target": root.target if root else None,
                "status": run_status(_latest(root)),
                "created_at": _iso(run.created_at),
            }
        )
    return listed
