"""``coflux submit`` and ``coflux runs …``: starting runs and following them."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from ..client import UNFINISHED, Client
from ..config import Config
from .options import connect, echo_json, get_config, global_options
from .render import follow_live, outcome_json, outcome_text, run_tree


def _split_target(value: str) -> tuple[str, str]:
    module, sep, target = value.rpartition("/")
    if not sep or not module or not target:
        raise click.BadParameter("expected MODULE/TARGET, e.g. app.flows/main", param_hint="TARGET")
    return module, target


def _parse_arguments(values: tuple[str, ...]) -> list[Any]:
    arguments = []
    for position, value in enumerate(values, start=1):
        try:
            arguments.append(json.loads(value))
        except ValueError as exc:
            raise click.BadParameter(
                f"argument {position} is not valid JSON ({exc}): {value!r}; "
                "quote strings as JSON, e.g. '\"text\"'",
                param_hint="ARGUMENTS",
            ) from None
    return arguments


def _is_terminal() -> bool:
    return click.get_text_stream("stdout").isatty()


def _report_outcome(ctx: click.Context, config: Config, run_id: str, outcome: dict) -> None:
    """Print the run's result and exit with 1 unless it succeeded."""
    status, result = outcome["status"], outcome["result"]
    if config.output == "json":
        echo_json({"run_id": run_id, **outcome_json(status, result)})
    else:
        click.echo(outcome_text(status, result))
    if status != "succeeded":
        ctx.exit(1)


def _follow(ctx: click.Context, config: Config, client: Client, run_id: str) -> None:
    if config.output == "text" and _is_terminal():
        follow_live(client, run_id, Console())
    elif config.output == "text":
        click.echo(run_id)
    _report_outcome(ctx, config, run_id, client.wait_for_result(run_id))


@click.command(context_settings={"ignore_unknown_options": True})
@global_options
@click.argument("target")
@click.argument("arguments", nargs=-1)
@click.option("--no-wait", is_flag=True, help="Print the run's ID and return at once.")
@click.option("--idempotency-key", help="Submitting again with this key returns the same run.")
@click.pass_context
def submit(
    ctx: click.Context,
    target: str,
    arguments: tuple[str, ...],
    no_wait: bool,
    idempotency_key: str | None,
) -> None:
    """Run the workflow MODULE/TARGET with JSON ARGUMENTS and wait for its result.

    Exits with 1 if the run does not succeed.
    """
    module, name = _split_target(target)
    values = _parse_arguments(arguments)
    config = get_config(ctx)
    with connect(config) as client:
        submitted = client.submit(
            config.workspace, module, name, values, idempotency_key=idempotency_key
        )
        if no_wait:
            if config.output == "json":
                echo_json(submitted)
            else:
                click.echo(submitted["run_id"])
            return
        _follow(ctx, config, client, submitted["run_id"])


@click.group()
@global_options
def runs() -> None:
    """Inspect runs."""


@runs.command()
@global_options
@click.argument("run_id")
@click.option("--no-wait", is_flag=True, help="Show the run as it is now.")
@click.pass_context
def inspect(ctx: click.Context, run_id: str, no_wait: bool) -> None:
    """Show the steps of run RUN_ID, once it has finished unless --no-wait."""
    config = get_config(ctx)
    with connect(config) as client:
        if no_wait:
            snapshot = client.run(run_id)
        elif config.output == "text" and _is_terminal():
            snapshot = follow_live(client, run_id, Console())
            return
        else:
            client.wait_for_result(run_id)
            snapshot = client.run(run_id)
    if config.output == "json":
        echo_json(snapshot)
    else:
        Console().print(run_tree(snapshot))


@runs.command()
@global_options
@click.argument("run_id")
@click.option("--no-wait", is_flag=True, help="Show the result as it is now.")
@click.pass_context
def result(ctx: click.Context, run_id: str, no_wait: bool) -> None:
    """Print the result of run RUN_ID, once it has finished unless --no-wait.

    Exits with 1 if the run finished without succeeding.
    """
    config = get_config(ctx)
    with connect(config) as client:
        outcome = client.result(run_id) if no_wait else client.wait_for_result(run_id)
    status, value = outcome["status"], outcome["result"]
    if config.output == "json":
        echo_json(outcome_json(status, value))
    else:
        click.echo(outcome_text(status, value))
    if status not in UNFINISHED and status != "succeeded":
        ctx.exit(1)
