"""Reading a run's logs page by page."""

from __future__ import annotations

from typing import Any

from projects.models import Project
from runs.models import LogMessage, Run
from runs.snapshots import RunNotFound

PAGE_SIZE = 1000


def run_logs(
    project: Project, run_id: str, *, execution: str | None = None, after: int | None = None
) -> dict[str, Any]:
    """``{"logs": [...], "cursor"}``: up to ``PAGE_SIZE`` entries in the order they arrived.

    Pass ``cursor`` back as ``after`` for the next page (it stays put when there are none yet);
    ``execution`` keeps only one execution's lines.
    """
    if not Run.objects.filter(project=project, pk=run_id).exists():
        raise RunNotFound(f"No run {run_id!r}.")
    lines = LogMessage.objects.filter(execution__step__run_id=run_id).order_by("id")
    if execution:
        lines = lines.filter(execution_id=execution)
    if after is not None:
        lines = lines.filter(id__gt=after)
    page = list(lines[:PAGE_SIZE])
    return {
        "logs": [
            {
                "id": line.id,
                "execution": line.execution_id,
                "timestamp": int(line.timestamp.timestamp() * 1000),
                "level": line.level,
                "template": line.template,
                "values": line.values,
            }
            for line in page
        ],
        "cursor": page[-1].id if page else after,
    }
