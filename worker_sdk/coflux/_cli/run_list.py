"""``coflux runs list``: a workspace's runs, newest first, filtered by status, workflow and age."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from .options import connect, echo_listing, get_config, global_options
from .render import STATUS_STYLES, local_time

STATUSES = ("queued", "running", "succeeded", "failed", "timeout", "abandoned", "cancelled")
_AGE = re.compile(r"^([0-9]+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime | None = None) -> str:
    """``--since`` as the ISO 8601 time the API takes: an age (``30m``, ``2h``, ``7d``) before
    ``now``, or a date or time as given (``2025-01-31``, ``2025-01-31T09:00``, local time unless
    it names its offset)."""
    matched = _AGE.match(value.strip())
    if matched:
        count, unit = int(matched.group(1)), _UNITS[matched.group(2)]
        moment = (now or datetime.now(UTC)) - timedelta(**{unit: count})
        return moment.isoformat()
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            "expected an age (30m, 2h, 7d) or a date and time (2025-01-31T09:00)",
            param_hint="--since",
        ) from None
    return (moment if moment.tzinfo else moment.astimezone()).isoformat()


def _workflow(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        module, sep, target = value.rpartition("/")
        if not sep or not module or not target:
            raise click.BadParameter("expected MODULE/TARGET, e.g. app.flows/main", ctx, param)
    return value


@click.command("list")
@global_options
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option(
    "--workflow", callback=_workflow, metavar="MODULE/TARGET", help="Only runs of this workflow."
)
@click.option(
    "--since",
    metavar="AGE|TIME",
    help="Only runs started since then: an age (30m, 2h, 7d) or a date and time.",
)
@click.option(
    "--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="At most N runs."
)
@click.pass_context
def list_runs(
    ctx: click.Context, status: str | None, workflow: str | None, since: str | None, limit: int
) -> None:
    """List the workspace's runs, newest first."""
    config = get_config(ctx)
    after = parse_since(since) if since is not None else None
    with connect(config) as client:
        found = client.runs(
            config.workspace, status=status, workflow=workflow, since=after, limit=limit
        )
    echo_listing(config, "runs", found, "No runs.", _runs_table)


def _runs_table(found: list[dict[str, Any]]) -> Table:
    table = Table("run", "workflow", "status", "created")
    for run in found:
        table.add_row(
            run["id"],
            f"{run['module']}/{run['target']}" if run["module"] else "",
            Text(run["status"], style=STATUS_STYLES.get(run["status"], "")),
            local_time(run["createdAt"]),
        )
    return table
