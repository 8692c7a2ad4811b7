"""A workspace's runs, newest first, filtered by status, workflow and age (``coflux runs list``).

A run's status is not a column: it follows from the latest attempt at its root step and where
that attempt's result forwards (``runs.snapshots.run_status``). Filtering by status therefore
reads the matching runs newest first, a batch at a time, until enough are found; at most
``SCAN_LIMIT`` runs are looked at, so that a rare status in a long history cannot make one
request read every run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runs.models import Run
from runs.snapshots import iso, latest_attempt, run_status
from runs.states import RUN_STATUS
from workspaces.models import Workspace

RUN_STATUSES = tuple(dict.fromkeys(RUN_STATUS.values()))
"""Every status a run may have, in the order a run may go through them."""
BATCH = 200
SCAN_LIMIT = 10_000


def list_runs(
    workspace: Workspace,
    *,
    status: str | None = None,
    workflow: tuple[str, str] | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Up to ``limit`` of the workspace's runs, newest first: ``{"id", "module", "target",
    "status", "created_at"}``; only those with ``status``, of ``workflow`` (module, target)
    and created at or after ``since``, when given."""
    runs = Run.objects.filter(workspace=workspace)
    if since is not None:
        runs = runs.filter(created_at__gte=since)
    if workflow is not None:
        module, target = workflow
        runs = runs.filter(steps__number=1, steps__module=module, steps__target=target)
    runs = runs.with_root().order_by("-created_at", "-id")
    if status is None:
        return [_summary(run) for run in runs[:limit]]
    listed: list[dict[str, Any]] = []
    for start in range(0, SCAN_LIMIT, BATCH):
        batch = list(runs[start : start + BATCH])
        for run in batch:
            summary = _summary(run)
            if summary["status"] == status:
                listed.append(summary)
                if len(listed) == limit:
                    return listed
        if len(batch) < BATCH:
            break
    return listed


def _summary(run: Run) -> dict[str, Any]:
    root = run.root_steps[0] if run.root_steps else None
    return {
        "id": run.id,
        "module": root.module if root else None,
        "target": root.target if root else None,
        "status": run_status(latest_attempt(root)),
        "created_at": iso(run.created_at),
    }
