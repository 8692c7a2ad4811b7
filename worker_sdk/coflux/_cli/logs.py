"""``coflux logs``: a run's log lines, all of them or one execution's, optionally followed.

Text output is one line per entry: the time since the run was submitted, the level, the
execution (``step:attempt``), the template with its values filled in, then the values it does
not name. ``-o json`` prints ``{"logs": [{"executionId", "timestamp", "level", "template",
"values"}], "cursor"}`` with values in the value format; with ``--follow`` one such object per
line as lines arrive.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import click

from .._client import Client
from .._logs import LEVELS, render
from .options import connect, echo_json, get_config, global_options

FOLLOW_WAIT = 30.0
"""Seconds the server may hold each request of ``--follow`` while nothing new arrives."""
_EXECUTION = re.compile(r"^[^:\s]+:\d+:\d+$")
_STYLES: dict[str, dict[str, Any]] = {
    "debug": {"dim": True},
    "stderr": {"fg": "yellow"},
    "warning": {"fg": "yellow", "bold": True},
    "error": {"fg": "red", "bold": True},
}


def _split(run: str, execution: str | None) -> tuple[str, str | None]:
    """The run and the execution to show: ``RUN [RUN:STEP:ATTEMPT]`` or ``RUN:STEP:ATTEMPT``."""
    if ":" in run:
        if execution is not None or not _EXECUTION.match(run):
            raise click.BadParameter("expected RUN, or RUN:STEP:ATTEMPT", param_hint="RUN")
        return run.split(":", 1)[0], run
    if execution is not None:
        if not _EXECUTION.match(execution):
            raise click.BadParameter("expected RUN:STEP:ATTEMPT", param_hint="EXECUTION")
        if execution.split(":", 1)[0] != run:
            raise click.BadParameter(f"not an execution of {run}", param_hint="EXECUTION")
    return run, execution


def as_json(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "executionId": line["executionId"],
        "timestamp": line["timestamp"],
        "level": line["level"],
        "template": line["template"],
        "values": line["values"],
    }


def _elapsed(milliseconds: int) -> str:
    seconds = max(milliseconds, 0) / 1000
    if seconds < 60:
        return f"+{seconds:.3f}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"+{int(minutes)}m{seconds:06.3f}s"
    hours, minutes = divmod(minutes, 60)
    return f"+{int(hours)}h{int(minutes):02d}m{seconds:06.3f}s"


def as_text(line: dict[str, Any], since_ms: int) -> str:
    """One entry as a line of text; ``since_ms`` is when times count from."""
    text, extras = render(line["template"], line["values"])
    level = LEVELS.get(line["level"], str(line["level"]))
    _run, _sep, execution = line["executionId"].partition(":")
    shown = [
        click.style(_elapsed(line["timestamp"] - since_ms).rjust(10), dim=True),
        click.style(level.ljust(7), **_STYLES.get(level, {})),
        execution.ljust(5),
        text,
    ]
    if extras:
        shown.append(click.style(" ".join(f"{k}={v}" for k, v in extras.items()), dim=True))
    return " ".join(shown)


def _submitted_ms(client: Client, run_id: str) -> int:
    created = client.run(run_id).get("createdAt")
    return int(datetime.fromisoformat(created).timestamp() * 1000) if created else 0


@click.command()
@global_options
@click.argument("run")
@click.argument("execution", required=False)
@click.option("-f", "--follow", is_flag=True, help="Keep showing new lines until the run ends.")
@click.option(
    "--from",
    "from_ms",
    type=click.IntRange(min=0),
    metavar="MS",
    help="Only lines logged at or after this time (milliseconds since the epoch).",
)
@click.pass_context
def logs(
    ctx: click.Context, run: str, execution: str | None, follow: bool, from_ms: int | None
) -> None:
    """Show the log of RUN, or of one of its executions (RUN:STEP:ATTEMPT)."""
    run_id, execution = _split(run, execution)
    config = get_config(ctx)
    with connect(config, patient=follow) as client:
        since = _submitted_ms(client, run_id) if config.output == "text" else 0
        cursor: int | None = None
        collected: list[dict[str, Any]] = []
        while True:
            page = client.logs(
                run_id,
                execution=execution,
                after=cursor,
                from_ms=from_ms,
                wait=FOLLOW_WAIT if follow else 0.0,
            )
            cursor = page["cursor"]
            lines = page["logs"]
            last = page["done"] or not (follow or lines)
            if config.output == "json" and follow:
                if lines or last:
                    shown = {"logs": [as_json(line) for line in lines], "cursor": cursor}
                    click.echo(json.dumps(shown))
            elif config.output == "json":
                collected.extend(as_json(line) for line in lines)
            else:
                for line in lines:
                    click.echo(as_text(line, since))
            if last:
                break
        if config.output == "json" and not follow:
            echo_json({"logs": collected, "cursor": cursor})
