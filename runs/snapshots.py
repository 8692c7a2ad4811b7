"""What the API tells about runs: snapshots, outcomes and lists, as plain JSON-ready dicts.

A snapshot also says how each step was resolved (SPEC §3.3, §3.4): a cached execution names the
execution whose result it reused (``cached_from``: that execution, its run and workspace), and a
step whose result memoised calls reused lists those calls (``memo_hits``: the caller executions,
from the dependencies recorded as memo hits). A memo hit creates no step of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from channels.layers import get_channel_layer

from coflux_server.database import releasing
from projects.errors import Code, DomainError
from projects.models import Project
from runs.identifiers import is_run_id
from runs.models import Execution, Result, Run, Step
from runs.orchestration.events import run_group
from runs.states import RESULT_STATE, RUN_STATUS, UNFINISHED, State

UNFINISHED_STATUSES = frozenset({"queued", "running"})
MAX_WAIT_SECONDS = 60.0
RECHECK_SECONDS = 2.0


def run_not_found(run_id: str) -> DomainError:
    return DomainError(f"No run {run_id!r}.", code=Code.RUN_NOT_FOUND)


def check_run(project: Project, run_id: str) -> None:
    """Refuse (``run_not_found``) unless the project has a run ``run_id``."""
    if not is_run_id(run_id) or not Run.objects.filter(project=project, pk=run_id).exists():
        raise run_not_found(run_id)


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


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def run_by_id(project: Project, run_id: str) -> Run:
    """The project's run with everything its snapshot shows."""
    if not is_run_id(run_id):
        raise run_not_found(run_id)
    try:
        return Run.objects.with_steps().get(project=project, pk=run_id)
    except Run.DoesNotExist:
        raise run_not_found(run_id) from None


def run_snapshot(run: Run) -> dict[str, Any]:
    """The run as the API shows it; ``run`` comes from ``Run.objects.with_steps()``."""
    steps = list(run.steps.all())
    executions = [execution for step in steps for execution in step.executions.all()]
    resolution = _Resolution(_cache_sources(executions), _memo_hits(executions))
    root = next((step for step in steps if step.number == 1), None)
    latest = latest_attempt(root)
    return {
        "id": run.id,
        "workspace": run.workspace.name,
        "parent": run.parent_id,
        "created_at": iso(run.created_at),
        "created_by": run.created_by,
        "status": run_status(latest),
        "result": _result_message(latest),
        "steps": [_step_snapshot(step, resolution) for step in steps],
    }


def latest_attempt(step: Step | None) -> Execution | None:
    if step is None:
        return None
    executions = list(step.executions.all())
    return max(executions, key=lambda e: e.attempt) if executions else None


class CachedFrom(TypedDict):
    execution: str
    run: str
    workspace: str


@dataclass(frozen=True)
class _Resolution:
    """Where the run's cache hits got their results, and which executions memo hits reused."""

    cached_from: dict[str, CachedFrom]
    memo_hits: dict[str, list[str]]


def _run_of(execution_id: str) -> str:
    # Execution IDs are ``<run>:<step>:<attempt>`` and run IDs have no colon.
    return execution_id.split(":", 1)[0]


def _is_cache_hit(execution: Execution) -> bool:
    result = _result_of(execution)
    return result is not None and result.type == Result.Type.CACHED and bool(result.successor_id)


def _cache_sources(executions: list[Execution]) -> dict[str, CachedFrom]:
    """For each cache hit among ``executions``, the execution whose result it reused.

    ``Run.objects.with_steps()`` joins in each hit's successor. That successor is seldom a
    cache hit itself (a call linked to a pending one that was then linked in turn); such chains
    are followed to their source with one query per further link, for all hits at once.
    """
    source: dict[str, Execution] = {}
    for execution in executions:
        if _is_cache_hit(execution):
            successor = execution.result.successor
            if successor is not None:
                source[execution.id] = successor
    seen: dict[str, set[str]] = {hit: {hit} for hit in source}
    for _ in range(MAX_FORWARDS):
        chained = {
            hit: found.result.successor_id
            for hit, found in source.items()
            if _is_cache_hit(found) and found.result.successor_id not in seen[hit]
        }
        if not chained:
            break
        fetched = Execution.objects.select_related("workspace", "result").in_bulk(
            set(chained.values())
        )
        for hit, successor_id in chained.items():
            seen[hit].add(source[hit].id)
            if successor_id in fetched:
                source[hit] = fetched[successor_id]
            else:
                seen[hit].add(successor_id)
    return {
        hit: {"execution": found.id, "run": _run_of(found.id), "workspace": found.workspace.name}
        for hit, found in source.items()
    }


def _memo_hits(executions: list[Execution]) -> dict[str, list[str]]:
    """The executions each execution's result was reused by, through memoised calls.

    Memo hits stay within a run (SPEC §3.4), so the run's own executions' dependencies hold
    them all and no query is needed.
    """
    hits: dict[str, list[str]] = defaultdict(list)
    for execution in executions:
        for dependency in execution.dependencies.all():
            if dependency.memo_hit:
                hits[dependency.dependency_id].append(execution.id)
    return hits


def _step_snapshot(step: Step, resolution: _Resolution) -> dict[str, Any]:
    executions = list(step.executions.all())
    latest = max(executions, key=lambda e: e.attempt) if executions else None
    cached_from = resolution.cached_from.get(latest.id) if latest is not None else None
    memo_hits = [
        caller for execution in executions for caller in resolution.memo_hits.get(execution.id, [])
    ]
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
        "created_at": iso(step.created_at),
        "cache_key": step.cache_key or None,
        "memo_key": step.memo_key or None,
        "resolution": _step_resolution(latest, cached_from, memo_hits),
        "cached_from": cached_from,
        "memo_hits": memo_hits,
        "executions": [_execution_snapshot(e, resolution) for e in executions],
    }


def _step_resolution(
    latest: Execution | None, cached_from: CachedFrom | None, memo_hits: list[str]
) -> str | None:
    """``cached`` (its latest attempt reused a cached result), ``memoised`` (it ran and memoised
    calls reused its result), ``executed`` (it ran on a worker), or None (not yet, or it ended
    without running: cancelled, deferred, spawned)."""
    if latest is None:
        return None
    if cached_from is not None:
        return "cached"
    if memo_hits:
        return "memoised"
    if latest.assigned_at is not None:
        return "executed"
    return None


def _execution_snapshot(execution: Execution, resolution: _Resolution) -> dict[str, Any]:
    return {
        "id": execution.id,
        "attempt": execution.attempt,
        "state": execution.state,
        "workspace": execution.workspace.name,
        "session": execution.session_id,
        "created_at": iso(execution.created_at),
        "assigned_at": iso(execution.assigned_at),
        "started_at": iso(execution.started_at),
        "completed_at": iso(execution.completed_at),
        "result": _own_result(execution),
        "cached_from": resolution.cached_from.get(execution.id),
        "memo_hits": resolution.memo_hits.get(execution.id, []),
        "dependencies": [d.dependency_id for d in execution.dependencies.all()],
    }


def run_outcome(project: Project, run_id: str) -> dict[str, Any]:
    """``{"run_id", "status", "result"}`` of the run, in one query."""
    latest = Execution.objects.latest_root(project, run_id) if is_run_id(run_id) else None
    if latest is None:
        raise run_not_found(run_id)
    return {"run_id": run_id, "status": run_status(latest), "result": _result_message(latest)}


async def await_outcome(project: Project, run_id: str, timeout: float) -> dict[str, Any]:
    """The run's outcome once it has finished, or as it stands after ``timeout`` seconds.

    The orchestrator announces a run's end on the run's group after committing it, usually
    with the outcome (then nothing more is read); the database is read again every few seconds
    in case an announcement went missing.
    """
    if not is_run_id(run_id):
        raise run_not_found(run_id)
    deadline = time.monotonic() + min(timeout, MAX_WAIT_SECONDS)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = run_group(run_id)
    await layer.group_add(group, channel)
    try:
        while True:
            outcome = await releasing(run_outcome)(project, run_id)
            remaining = deadline - time.monotonic()
            if outcome["status"] not in UNFINISHED_STATUSES or remaining <= 0:
                return outcome
            with contextlib.suppress(TimeoutError):
                finished = await asyncio.wait_for(
                    _finished(layer, channel), min(remaining, RECHECK_SECONDS)
                )
                if "outcome" in finished:
                    return {"run_id": run_id, **finished["outcome"]}
    finally:
        await layer.group_discard(group, channel)


async def _finished(layer: Any, channel: str) -> dict[str, Any]:
    """The run's group's announcement that it finished (its other news is for others)."""
    while True:
        message = await layer.receive(channel)
        if message.get("type") == "run.finished":
            return message
