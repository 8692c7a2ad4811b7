"""``coflux pools …``: the workspace's pools, which launch workers on demand, and the workers
they launched.

Fields are given as ``--set name=value`` (``--set env.KEY=value`` for one environment
variable); the server reads each value as its field's kind (a number, a boolean, a list
``a,b``, JSON). Tags are given as ``--provides gpu:A100,fast`` (repeatable).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .options import (
    connect,
    connection_options,
    echo_json,
    echo_listing,
    echo_reply,
    get_config,
    global_options,
    tag_flags,
)
from .pool_files import PoolFileError, dumps, loads
from .render import local_time, tag_text
from .watching import show

TYPES = ("process", "docker", "kubernetes")
_STATE_STYLES = {
    "active": "green",
    "launching": "cyan",
    "draining": "yellow",
    "disabled": "yellow",
    "failed": "red",
    "dead": "red",
}


@click.group()
@global_options
def pools() -> None:
    """Manage the workspace's pools, which launch workers when work waits for one."""


def _modules(values: tuple[str, ...]) -> list[str]:
    return [module.strip() for value in values for module in value.split(",") if module.strip()]


def _settings(values: tuple[str, ...]) -> dict[str, str]:
    settings = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r}: use name=value", param_hint="--set")
        settings[name.strip()] = setting
    return settings


def _describe(pool: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("name", pool["name"]),
        ("type", pool["type"]),
        ("state", pool["state"]),
        ("modules", ", ".join(pool["modules"]) or "(any)"),
        ("provides", tag_text(pool["provides"])),
        ("accepts", tag_text(pool["accepts"])),
    ]
    for name, value in sorted(pool["fields"].items()):
        if name == "env" and isinstance(value, dict):
            rows += [(f"env.{key}", text) for key, text in sorted(value.items())]
        elif isinstance(value, list):
            rows.append((name, ",".join(map(str, value))))
        else:
            rows.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return rows


def _print_pool(pool: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    for name, value in _describe(pool):
        table.add_row(Text(name, style="bold"), value)
    Console().print(table)


@pools.command("list")
@global_options
@click.pass_context
def list_pools(ctx: click.Context) -> None:
    """List the workspace's pools."""
    config = get_config(ctx)
    with connect(config) as client:
        listed = client.pools(config.workspace)
    echo_listing(config, "pools", listed, "No pools.", _pools_table)


def _pools_table(listed: list[dict[str, Any]]) -> Table:
    table = Table("name", "type", "state", "modules", "provides", "accepts")
    for pool in listed:
        table.add_row(
            pool["name"],
            pool["type"],
            Text(pool["state"], style=_STATE_STYLES.get(pool["state"], "")),
            ", ".join(pool["modules"]) or "(any)",
            tag_text(pool["provides"]),
            tag_text(pool["accepts"]),
        )
    return table


@pools.command()
@global_options
@click.argument("name")
@click.pass_context
def get(ctx: click.Context, name: str) -> None:
    """Show the pool NAME: its type, state, modules, tags and fields."""
    config = get_config(ctx)
    with connect(config) as client:
        pool = client.pool(config.workspace, name)
    if config.output == "json":
        echo_json(pool)
    else:
        _print_pool(pool)


@pools.command()
@global_options
@click.argument("name")
@click.option("--type", "pool_type", type=click.Choice(TYPES), required=True)
@click.option("--set", "set_", multiple=True, metavar="NAME=VALUE", help="A field (repeatable).")
@click.option("-m", "--modules", multiple=True, help="Modules its workers host, a,b (any if none).")
@click.option("--provides", multiple=True, metavar="KEY:VALUE,…", help="Tags its workers offer.")
@click.option(
    "--accepts", multiple=True, metavar="KEY:VALUE,…", help="Take only work requiring these."
)
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    pool_type: str,
    set_: tuple[str, ...],
    modules: tuple[str, ...],
    provides: tuple[str, ...],
    accepts: tuple[str, ...],
) -> None:
    """Create the pool NAME: its type, fields, modules and tags.

    For example: ``--type process --set directory=/srv/app -m app.flows``."""
    body = {
        "name": name,
        "type": pool_type,
        "modules": _modules(modules),
        "provides": tag_flags(provides, "--provides"),
        "accepts": tag_flags(accepts, "--accepts"),
        "fields": _settings(set_),
    }
    config = get_config(ctx)
    with connect(config) as client:
        created = client.create_pool(config.workspace, body)
    echo_reply(config, created, lambda pool: f"Created pool {pool['name']} ({pool['type']}).")


@pools.command()
@global_options
@click.argument("name")
@click.option("--set", "set_", multiple=True, metavar="NAME=VALUE", help="Set a field.")
@click.option("--unset", multiple=True, metavar="NAME", help="Remove a field (env.KEY too).")
@click.option("-m", "--modules", multiple=True, help="Replace the modules, a,b.")
@click.option("--provides", multiple=True, metavar="KEY:VALUE,…", help="Replace the provides.")
@click.option("--no-provides", is_flag=True, help="Remove the provides.")
@click.option("--accepts", multiple=True, metavar="KEY:VALUE,…", help="Replace the accepts.")
@click.option("--no-accepts", is_flag=True, help="Remove the accepts.")
@click.pass_context
def update(
    ctx: click.Context,
    name: str,
    set_: tuple[str, ...],
    unset: tuple[str, ...],
    modules: tuple[str, ...],
    provides: tuple[str, ...],
    no_provides: bool,
    accepts: tuple[str, ...],
    no_accepts: bool,
) -> None:
    """Change the pool NAME: fields set or unset are merged, the rest kept."""
    if (provides and no_provides) or (accepts and no_accepts):
        raise click.UsageError("give either --provides or --no-provides (--accepts likewise)")
    changes: dict[str, Any] = {}
    if set_:
        changes["set"] = _settings(set_)
    if unset:
        changes["unset"] = list(unset)
    if modules:
        changes["modules"] = _modules(modules)
    if provides or no_provides:
        changes["provides"] = tag_flags(provides, "--provides")
    if accepts or no_accepts:
        changes["accepts"] = tag_flags(accepts, "--accepts")
    if not changes:
        raise click.UsageError("nothing to change: give --set, --unset, --modules, … ")
    config = get_config(ctx)
    with connect(config) as client:
        updated = client.update_pool(config.workspace, name, changes)
    echo_reply(config, updated, lambda pool: f"Updated pool {pool['name']}.")


@pools.command()
@global_options
@click.argument("name")
@click.pass_context
def delete(ctx: click.Context, name: str) -> None:
    """Delete the pool NAME; the workers it launched drain and stop."""
    config = get_config(ctx)
    with connect(config) as client:
        client.delete_pool(config.workspace, name)
    echo_reply(config, {"name": name, "deleted": True}, lambda _: f"Deleted pool {name}.")


def _set_enabled(ctx: click.Context, name: str, enabled: bool) -> None:
    config = get_config(ctx)
    with connect(config) as client:
        pool = client.set_pool_enabled(config.workspace, name, enabled)
    verb = "Enabled" if enabled else "Disabled"
    echo_reply(config, pool, lambda pool: f"{verb} pool {pool['name']}.")


@pools.command()
@global_options
@click.argument("name")
@click.pass_context
def enable(ctx: click.Context, name: str) -> None:
    """Let the pool NAME launch workers again."""
    _set_enabled(ctx, name, True)


@pools.command()
@global_options
@click.argument("name")
@click.pass_context
def disable(ctx: click.Context, name: str) -> None:
    """Stop the pool NAME launching workers; those it launched drain and stop."""
    _set_enabled(ctx, name, False)


@pools.command()
@global_options
@click.argument("pool")
@click.argument("worker", required=False)
@click.option("--watch", is_flag=True, help="Keep the table up to date until interrupted.")
@click.pass_context
def launches(ctx: click.Context, pool: str, worker: str | None, watch: bool) -> None:
    """List the workers POOL launched, newest first, and where each is in its life; with
    WORKER (a launch's ID or its session's), only that one, its whole error included."""

    def fetch(client: Any, workspace: str) -> list[dict[str, Any]]:
        listed = client.pool_launches(workspace, pool)
        if worker is None:
            return listed
        found = [launch for launch in listed if worker in (launch["id"], launch["sessionId"])]
        if not found:
            raise click.ClickException(f"Pool {pool!r} launched no worker {worker!r}.")
        return found

    render = _launches if worker is None else _launch
    show(ctx, "launches", fetch, render, watch)


def _launch(listed: list[dict[str, Any]]) -> Table:
    """One launch, a field a row."""
    launch = listed[0]
    table = Table("field", "value", show_header=False)
    table.add_row("worker", launch["id"])
    table.add_row("state", Text(launch["state"], style=_STATE_STYLES.get(launch["state"], "")))
    table.add_row("session", launch["sessionId"] or "")
    for field, key in (
        ("created", "createdAt"),
        ("launched", "launchedAt"),
        ("active", "activatedAt"),
        ("draining", "drainingAt"),
        ("stopped", "stoppedAt"),
    ):
        table.add_row(field, local_time(launch[key], "%Y-%m-%d %H:%M:%S"))
    table.add_row("error", launch["error"] or "")
    return table


def _launches(listed: list[dict[str, Any]]) -> Table | Text:
    if not listed:
        return Text("No workers launched.")
    table = Table("worker", "state", "session", "launched", "active", "stopped", "error")
    for launch in listed:
        table.add_row(
            launch["id"],
            Text(launch["state"], style=_STATE_STYLES.get(launch["state"], "")),
            launch["sessionId"] or "",
            local_time(launch["createdAt"], "%H:%M:%S"),
            local_time(launch["activatedAt"], "%H:%M:%S"),
            local_time(launch["stoppedAt"], "%H:%M:%S"),
            (launch["error"] or "").split("\n", 1)[0],
        )
    return table


@pools.command()
@connection_options
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False), help="File to write.")
@click.option("--only", multiple=True, metavar="NAME", help="Only this pool (repeatable).")
@click.pass_context
def export(ctx: click.Context, path: str | None, only: tuple[str, ...]) -> None:
    """Write the workspace's pools as TOML (to stdout, or -o FILE), for ``pools import``.

    Secret fields (a Kubernetes token) are left out."""
    config = get_config(ctx)
    with connect(config) as client:
        exported = client.export_pools(config.workspace, list(only))
    text = dumps(exported)
    if path is None:
        click.echo(text, nl=False)
    else:
        Path(path).write_text(text)
        click.echo(f"Wrote {len(exported)} pools to {path}.", err=True)


@pools.command("import")
@global_options
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True), default="-")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--yes", is_flag=True, help="Do not ask before changing pools.")
@click.option("--only", multiple=True, metavar="NAME", help="Only this pool (repeatable).")
@click.pass_context
def import_(ctx: click.Context, file: str, dry_run: bool, yes: bool, only: tuple[str, ...]) -> None:
    """Create or replace pools from a TOML FILE (default: stdin) as ``pools export`` writes
    it; pools it does not name are left alone."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text()
    try:
        described = loads(text)
    except PoolFileError as exc:
        raise click.ClickException(str(exc)) from None
    config = get_config(ctx)
    with connect(config) as client:
        plan = client.import_pools(config.workspace, described, only=list(only), dry_run=True)
        changes = plan["created"] or plan["updated"]
        if changes and not dry_run:
            if not yes:
                if file == "-" or not sys.stdin.isatty():
                    raise click.UsageError("confirm with --yes (or see the changes: --dry-run)")
                _print_plan(plan)
                click.confirm("Apply these changes?", abort=True)
            plan = client.import_pools(config.workspace, described, only=list(only))
    if config.output == "json":
        echo_json(plan)
    else:
        _print_plan(plan)


def _print_plan(plan: dict[str, Any]) -> None:
    verb = "would be " if plan["dryRun"] else ""
    for key in ("created", "updated", "unchanged"):
        if plan[key]:
            click.echo(f"{verb if key != 'unchanged' else ''}{key}: {', '.join(plan[key])}")
    if not any(plan[key] for key in ("created", "updated", "unchanged")):
        click.echo("No pools to import.")
