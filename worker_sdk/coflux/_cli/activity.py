"""``coflux sessions list`` and ``coflux queue``: the workspace's workers, and what its
unfinished executions wait for."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.text import Text

from .options import global_options
from .render import local_time, tag_text
from .watching import show

_SESSION_STYLES = {"connected": "green", "draining": "yellow", "disconnected": "red"}
_QUEUE_STYLES = {"assigned": "green", "waiting": "cyan", "scheduled": "blue", "paused": "yellow"}


@click.group()
@global_options
def sessions() -> None:
    """The workers connected to the workspace."""


@sessions.command("list")
@global_options
@click.option("--watch", is_flag=True, help="Keep the table up to date until interrupted.")
@click.pass_context
def list_sessions(ctx: click.Context, watch: bool) -> None:
    """List the workspace's worker sessions: state, load and tags."""
    show(ctx, "sessions", lambda client, ws: client.sessions(ws), _sessions_table, watch)


@click.command()
@global_options
@click.option("--no-watch", is_flag=True, help="Print the table once (as when not on a terminal).")
@click.pass_context
def queue(ctx: click.Context, no_watch: bool) -> None:
    """Show the workspace's unfinished executions and what each waits for: assigned (running),
    waiting (for a free worker or its dependencies), scheduled (due later), paused (the
    workspace is), or no session (no connected worker hosts its target with fitting tags)."""
    show(ctx, "executions", lambda client, ws: client.queue(ws), _queue_table, not no_watch)


def _sessions_table(listed: list[dict[str, Any]]) -> Table | Text:
    if not listed:
        return Text("No worker sessions.")
    table = _table("session", "state", "load", "targets", "tags", "last seen", wrapped=("tags",))
    for session in listed:
        concurrency = session["concurrency"] or "∞"
        table.add_row(
            session["id"],
            Text(session["state"], style=_SESSION_STYLES.get(session["state"], "")),
            f"{session['load']}/{concurrency}",
            str(session["targets"]),
            _tags(session["provides"], session["accepts"]),
            local_time(session["lastSeenAt"], "%H:%M:%S"),
        )
    return table


def _queue_table(listed: list[dict[str, Any]]) -> Table | Text:
    if not listed:
        return Text("Nothing queued or running.")
    table = _table("execution", "target", "status", "session", "due", wrapped=("target",))
    for execution in listed:
        table.add_row(
            execution["id"],
            f"{execution['module']}/{execution['target']}",
            Text(execution["status"], style=_QUEUE_STYLES.get(execution["status"], "red")),
            execution["sessionId"] or "",
            local_time(execution["executeAfter"]),
        )
    return table


def _table(*columns: str, wrapped: tuple[str, ...] = ()) -> Table:
    """A table whose columns keep to one line (IDs, for copying), but ``wrapped`` ones."""
    table = Table()
    for column in columns:
        table.add_column(column, no_wrap=column not in wrapped, overflow="fold")
    return table


def _tags(provides: dict[str, list[str]], accepts: dict[str, list[str]]) -> str:
    """``gpu:A100,fast:true accepts tier:batch``, as the worker's flags were given."""
    return " ".join(
        part for part in (tag_text(provides), accepts and f"accepts {tag_text(accepts)}") if part
    )
