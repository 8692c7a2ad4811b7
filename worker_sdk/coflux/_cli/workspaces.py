"""``coflux workspaces …``: listing, creating, updating, pausing, resuming and archiving
workspaces."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.text import Text

from .._client import UNSET
from .options import connect, echo_listing, echo_reply, get_config, global_options

_STATE_STYLES = {"active": "green", "paused": "yellow"}


def _describe(workspace: dict[str, Any]) -> str:
    base = f", based on {workspace['base']}" if workspace["base"] else ""
    return f"{workspace['name']} ({workspace['state']}{base})"


@click.group()
@global_options
def workspaces() -> None:
    """Manage the project's workspaces."""


@workspaces.command("list")
@global_options
@click.pass_context
def list_workspaces(ctx: click.Context) -> None:
    """List the workspaces (archived ones are hidden)."""
    config = get_config(ctx)
    with connect(config) as client:
        listed = client.workspaces()
    echo_listing(config, "workspaces", listed, "No workspaces.", _workspaces_table)


def _workspaces_table(listed: list[dict[str, Any]]) -> Table:
    table = Table("name", "base", "state")
    for workspace in listed:
        state = Text(workspace["state"], style=_STATE_STYLES.get(workspace["state"], ""))
        table.add_row(workspace["name"], workspace["base"] or "", state)
    return table


@workspaces.command()
@global_options
@click.argument("name")
@click.option("--base", help="The workspace it inherits cached and memoised results from.")
@click.pass_context
def create(ctx: click.Context, name: str, base: str | None) -> None:
    """Create the workspace NAME."""
    config = get_config(ctx)
    with connect(config) as client:
        created = client.create_workspace(name, base=base)
    echo_reply(config, created, lambda workspace: f"Created workspace {_describe(workspace)}.")


@workspaces.command()
@global_options
@click.option("--name", help="A new name.")
@click.option("--base", help="A new base workspace.")
@click.option("--no-base", is_flag=True, help="Remove the base.")
@click.pass_context
def update(ctx: click.Context, name: str | None, base: str | None, no_base: bool) -> None:
    """Rename the workspace (-w/--workspace) or change its base."""
    if base is not None and no_base:
        raise click.UsageError("give either --base or --no-base, not both")
    if name is None and base is None and not no_base:
        raise click.UsageError("nothing to change: give --name, --base or --no-base")
    config = get_config(ctx)
    with connect(config) as client:
        updated = client.update_workspace(
            config.workspace, name=name, base=None if no_base else (base or UNSET)
        )
    echo_reply(config, updated, lambda workspace: f"Updated workspace {_describe(workspace)}.")


def _set_paused(ctx: click.Context, paused: bool) -> None:
    config = get_config(ctx)
    with connect(config) as client:
        workspace = client.set_workspace_paused(config.workspace, paused)
    verb = "Paused" if paused else "Resumed"
    echo_reply(config, workspace, lambda workspace: f"{verb} workspace {workspace['name']}.")


@workspaces.command()
@global_options
@click.pass_context
def pause(ctx: click.Context) -> None:
    """Pause the workspace (-w/--workspace): nothing new starts until it is resumed."""
    _set_paused(ctx, True)


@workspaces.command()
@global_options
@click.pass_context
def resume(ctx: click.Context) -> None:
    """Resume the paused workspace (-w/--workspace)."""
    _set_paused(ctx, False)


@workspaces.command()
@global_options
@click.pass_context
def archive(ctx: click.Context) -> None:
    """Archive the workspace (-w/--workspace).

    It is hidden from lists and its name can be used again; its queued work is cancelled and
    its workers' sessions end (what they were running is abandoned). Refused while other
    workspaces are based on it.
    """
    config = get_config(ctx)
    with connect(config) as client:
        archived = client.archive_workspace(config.workspace)
    echo_reply(
        config,
        archived,
        lambda reply: (
            f"Archived workspace {reply['name']}: cancelled "
            f"{len(reply['cancelled'])} queued executions, ended {len(reply['sessions'])} "
            "worker sessions."
        ),
    )
