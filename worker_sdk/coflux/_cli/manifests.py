"""``coflux manifests …``: registering modules' workflows with a workspace, archiving them."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from .._config import Config
from .._discovery import DiscoveryError, discover_isolated, workflows_manifest
from .options import connect, echo_json, echo_reply, get_config, global_options
from .watching import show

Manifest = dict[str, list[dict[str, Any]]]


def discover_workflows(modules: list[str]) -> Manifest:
    """The modules' workflows, found by importing them in a separate process."""
    # Modules are named relative to the working directory, as with ``python -m``.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return workflows_manifest(modules, discover_isolated(modules))
    except DiscoveryError as exc:
        raise click.ClickException(f"cannot load {', '.join(modules)}:\n{exc}") from None


def register_workflows(config: Config, modules: list[str]) -> Manifest:
    """Discover the modules' workflows and register them with the configured workspace."""
    manifest = discover_workflows(modules)
    with connect(config) as client:
        client.register_manifests(config.workspace, manifest)
    return manifest


def _modules(config: Config, modules: tuple[str, ...]) -> list[str]:
    chosen = list(modules) or list(config.worker.modules)
    if not chosen:
        raise click.UsageError("name the modules, or list them in coflux.toml ([worker] modules)")
    return chosen


@click.group()
@global_options
def manifests() -> None:
    """Register and inspect the workflows of a workspace."""


@manifests.command()
@global_options
@click.argument("modules", nargs=-1)
@click.pass_context
def register(ctx: click.Context, modules: tuple[str, ...]) -> None:
    """Register the workflows of MODULES (replacing what each module had registered)."""
    config = get_config(ctx)
    manifest = register_workflows(config, _modules(config, modules))
    if config.output == "json":
        echo_json({"workspace": config.workspace, "modules": manifest})
        return
    for module, workflows in manifest.items():
        names = ", ".join(w["name"] for w in workflows) or "no workflows"
        click.echo(f"Registered {module} in workspace {config.workspace}: {names}")


@manifests.command()
@global_options
@click.argument("module")
@click.pass_context
def archive(ctx: click.Context, module: str) -> None:
    """Archive MODULE: hide its workflows from the workspace until it is registered again."""
    config = get_config(ctx)
    with connect(config) as client:
        archived = client.archive_module(config.workspace, module)
    echo_reply(
        config,
        archived,
        lambda reply: f"Archived {reply['module']} in workspace {reply['workspace']}.",
    )


def _signature(workflow: dict[str, Any]) -> str:
    parameters = []
    for parameter in workflow["parameters"]:
        text = parameter["name"]
        if parameter.get("annotation"):
            text += f": {parameter['annotation']}"
        if parameter.get("default") is not None:
            text += f" = {parameter['default']}"
        parameters.append(text)
    return f"{workflow['name']}({', '.join(parameters)})"


@manifests.command()
@global_options
@click.option("--watch", is_flag=True, help="Keep the table up to date until interrupted.")
@click.pass_context
def inspect(ctx: click.Context, watch: bool) -> None:
    """Show the workflows registered in the workspace."""
    workspace = get_config(ctx).workspace
    empty = f"No workflows registered in workspace {workspace}."
    show(ctx, "modules", lambda client, ws: client.manifests(ws), lambda m: _table(m, empty), watch)


@manifests.command()
@global_options
@click.argument("modules", nargs=-1)
@click.pass_context
def discover(ctx: click.Context, modules: tuple[str, ...]) -> None:
    """Show the workflows MODULES define, without registering them (nothing is sent)."""
    config = get_config(ctx)
    found = discover_workflows(_modules(config, modules))
    if config.output == "json":
        echo_json({"modules": found})
    else:
        Console().print(_table(found, "No workflows found."))


def _table(manifest: Manifest, empty: str) -> RenderableType:
    if not any(manifest.values()):
        return Text(empty)
    table = Table("module", "workflow", "description")
    for module, workflows in manifest.items():
        for workflow in workflows:
            summary = (workflow.get("instruction") or "").strip().splitlines()
            table.add_row(module, _signature(workflow), summary[0] if summary else "")
    return table
