"""Reading a run's logs page by page, and following them while the run goes on.

Lines are listed in the order they arrived, which is each execution's own order. A page's
``cursor`` (the last line's ID) passed back as ``after`` continues where it stopped, so a
client following a run asks again and again with the latest cursor; with ``wait`` the server
holds a request that has nothing new yet until lines arrive, the run finishes or time is up
(long polling). ``done`` says the run had finished before the page was read and the page holds
all that remains: a follower can stop.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from coflux_server.database import releasing
from projects.models import Project
from runs.identifiers import is_execution_id
from runs.models import LogMessage
from runs.snapshots import UNFINISHED_STATUSES, check_run, run_outcome

PAGE_SIZE = 1000
MAX_WAIT_SECONDS = 60.0
POLL_SECONDS = 0.25
"""How often a held request looks for new lines."""


def run_logs(
    project: Project,
    run_id: str,
    *,
    execution: str | None = None,
    after: int | None = None,
    from_ms: int | None = None,
) -> dict[str, Any]:
    """``{"logs": [...], "cursor", "done"}``: up to ``PAGE_SIZE`` entries in arrival order.

    Pass ``cursor`` back as ``after`` for the next page (it stays put when there are none yet);
    ``execution`` keeps only one execution's lines, ``from_ms`` only lines logged at or after
    that time (epoch milliseconds).
    """
    check_run(project, run_id)
    # Read before the lines: a run that had finished then has sent all its lines already.
    finished = run_outcome(project, run_id)["status"] not in UNFINISHED_STATUSES
    lines = LogMessage.objects.filter(execution__step__run_id=run_id).order_by("id")
    if execution:
        lines = lines.filter(execution_id=execution) if is_execution_id(execution) else lines.none()
    if after is not None:
        lines = lines.filter(id__gt=after)
    if from_ms is not None:
        lines = lines.filter(timestamp__gte=datetime.fromtimestamp(from_ms / 1000, tz=UTC))
    page = list(lines[:PAGE_SIZE])
    return {
        "logs": [log_entry(line) for line in page],
        "cursor": page[-1].id if page else after,
        "done": finished and len(page) < PAGE_SIZE,
    }


def log_entry(line: LogMessage) -> dict[str, Any]:
    """A log line as the API gives it: values in the wire format, time in epoch milliseconds."""
    return {
        "id": line.id,
        "execution": line.execution_id,
        "timestamp": int(line.timestamp.timestamp() * 1000),
        "level": line.level,
        "template": line.template,
        "values": line.values,
    }


async def await_logs(
    project: Project,
    run_id: str,
    *,
    wait: float,
    execution: str | None = None,
    after: int | None = None,
    from_ms: int | None = None,
) -> dict[str, Any]:
    """``run_logs``, held up to ``wait`` seconds while there is nothing new and the run goes on."""
    deadline = time.monotonic() + min(wait, MAX_WAIT_SECONDS)
    read = releasing(run_logs)
    while True:
        page = await read(project, run_id, execution=execution, after=after, from_ms=from_ms)
        remaining = deadline - time.monotonic()
        if page["logs"] or page["done"] or remaining <= 0:
            return page
        await asyncio.sleep(min(POLL_SECONDS, remaining))
