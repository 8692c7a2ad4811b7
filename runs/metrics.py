"""Reading a run's metric series.

Workers send ``metric`` messages (``coflux_wire.protocol``): definitions of series first
recorded since the previous message, then points ``[key, value, at]``; the orchestrator's tick
stores them (``runs.orchestration.messages.metrics``).
"""

from __future__ import annotations

from typing import Any

from projects.models import Project
from runs.identifiers import is_execution_id
from runs.models import Execution, MetricDefinition, MetricPoint
from runs.snapshots import check_run

PAGE_SIZE = 10_000


def run_metrics(
    project: Project, run_id: str, *, execution: str | None = None, after: int | None = None
) -> dict[str, Any]:
    """The run's metrics per execution, with a ``cursor`` to pass back as ``after``::

        {"executions": [{"execution_id", "definitions": [{"key", "group", "scale",
                          "throttle"}], "points": {key: [[at, value], …]}}],
         "cursor": <last point id> | after}

    Every execution with a definition is listed, with all its definitions; ``points`` has those
    after the cursor (up to ``PAGE_SIZE``), in the order they arrived.
    """
    check_run(project, run_id)
    executions = Execution.objects.filter(step__run_id=run_id)
    if execution:
        executions = (
            executions.filter(pk=execution) if is_execution_id(execution) else executions.none()
        )
    definitions = MetricDefinition.objects.filter(execution__in=executions).order_by(
        "execution_id", "id"
    )
    points = MetricPoint.objects.filter(execution__in=executions).order_by("id")
    if after is not None:
        points = points.filter(id__gt=after)
    page = list(points.values_list("id", "execution_id", "key", "value", "at")[:PAGE_SIZE])

    listed: dict[str, dict[str, Any]] = {}

    def entry(execution_id: str) -> dict[str, Any]:
        if execution_id not in listed:
            listed[execution_id] = {"execution_id": execution_id, "definitions": [], "points": {}}
        return listed[execution_id]

    for definition in definitions:
        entry(definition.execution_id)["definitions"].append(
            {
                "key": definition.key,
                "group": definition.group,
                "scale": definition.scale,
                "throttle": definition.throttle,
            }
        )
    for _id, execution_id, key, value, at in page:
        entry(execution_id)["points"].setdefault(key, []).append([at, value])
    return {
        "executions": sorted(listed.values(), key=lambda e: _execution_order(e["execution_id"])),
        "cursor": page[-1][0] if page else after,
    }


def _execution_order(execution_id: str) -> tuple[int, int]:
    """``R…:<step>:<attempt>`` in step, then attempt order."""
    _run, step, attempt = execution_id.rsplit(":", 2)
    return int(step), int(attempt)
