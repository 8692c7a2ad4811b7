"""``coflux inputs list|inspect|respond|dismiss``: the questions executions ask people, and
answering them."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from .options import connect, echo_json, echo_listing, echo_reply, get_config, global_options
from .render import local_time

_STYLES = {"pending": "yellow", "responded": "green", "dismissed": "red", "cancelled": "red"}
STATES = ("pending", "responded", "dismissed", "cancelled")


@click.group()
@global_options
def inputs() -> None:
    """Questions executions ask people (cf.Prompt), and their answers."""


@inputs.command("list")
@global_options
@click.option("--run", "run_id", metavar="RUN", help="Only this run's inputs, in any state.")
@click.option("--state", type=click.Choice(STATES), help="Only inputs in this state.")
@click.option("--all", "every", is_flag=True, help="Inputs in any state.")
@click.pass_context
def list_inputs(ctx: click.Context, run_id: str | None, state: str | None, every: bool) -> None:
    """List the workspace's inputs: by default those waiting for an answer (with --run, all of
    that run's)."""
    if state is None and not every and run_id is None:
        state = "pending"
    config = get_config(ctx)
    with connect(config) as client:
        found = client.inputs(config.workspace, run=run_id, state=state)
    echo_listing(config, "inputs", found, "No inputs.", _inputs_table)


def _inputs_table(found: list[dict[str, Any]]) -> Table:
    table = Table()
    for column in ("input", "state", "title", "asked by", "asked at"):
        table.add_column(column, no_wrap=column != "title", overflow="fold")
    for item in found:
        table.add_row(
            item["id"],
            Text(item["state"], style=_STYLES.get(item["state"], "")),
            _headline(item),
            item["executionId"],
            local_time(item["createdAt"]),
        )
    return table


@inputs.command()
@global_options
@click.argument("input_id")
@click.pass_context
def inspect(ctx: click.Context, input_id: str) -> None:
    """Show input INPUT_ID: the prompt, what a response must be, and the answer if any."""
    config = get_config(ctx)
    with connect(config) as client:
        found = client.input(input_id)
    if config.output == "json":
        echo_json(found)
        return
    click.echo(f"Input {found['id']} ({found['state']}), asked by {found['executionId']}")
    if found["title"]:
        click.echo(f"title: {found['title']}")
    click.echo(f"key: {found['key']}" if found["key"] else "key: (none)")
    click.echo("template:")
    for line in found["template"].splitlines() or [""]:
        click.echo(f"  {line}")
    for name, value in found["placeholders"].items():
        click.echo(f"  {{{name}}} = {json.dumps(value)}")
    if found["schema"] is not None:
        click.echo(f"schema: {json.dumps(found['schema'])}")
    if found["actions"]:
        click.echo(f"actions: {found['actions']['respond']} / {found['actions']['dismiss']}")
    if found["initial"] is not None:
        click.echo(f"initial: {json.dumps(found['initial'])}")
    response = found["response"]
    if response is not None:
        answer = json.dumps(response["value"]) if response["type"] == "value" else ""
        who = f" by {found['respondedBy']}" if found["respondedBy"] else ""
        click.echo(f"response: {response['type']} {answer}".rstrip() + who)


@inputs.command()
@global_options
@click.argument("input_id")
@click.argument("value", metavar="JSON")
@click.pass_context
def respond(ctx: click.Context, input_id: str, value: str) -> None:
    """Answer input INPUT_ID with a JSON value (null is a value); only once, and it must match
    the input's schema."""
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="JSON") from None
    config = get_config(ctx)
    with connect(config) as client:
        found = client.respond_input(input_id, parsed)
    echo_reply(config, found, lambda item: f"Responded to input {item['id']}.")


@inputs.command()
@global_options
@click.argument("input_id")
@click.pass_context
def dismiss(ctx: click.Context, input_id: str) -> None:
    """Decline to answer input INPUT_ID: the execution waiting for it gets InputDismissed."""
    config = get_config(ctx)
    with connect(config) as client:
        found = client.dismiss_input(input_id)
    echo_reply(config, found, lambda item: f"Dismissed input {item['id']}.")


def _headline(item: dict[str, Any]) -> str:
    lines = [line for line in item["template"].splitlines() if line.strip()]
    return item["title"] or (lines[0] if lines else "")
