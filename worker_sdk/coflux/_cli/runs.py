"""``coflux submit`` and ``coflux runs …``: starting runs and following them."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import click
from rich.console import Console

from .._client import UNFINISHED, UNSET, Client
from .._config import Config
from .options import (
    configured_workspace,
    connect,
    echo_json,
    echo_reply,
    get_config,
    global_options,
    tag_flags,
)
from .render import follow_live, outcome_json, outcome_text, run_tree
from .run_list import list_runs

NOT_FAILED = frozenset({"succeeded", "suspended", "recurred"})
"""Outcomes of an attempt that are not failures: a suspended or recurred attempt goes on as the
next one."""


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


def _echo_outcome(config: Config, outcome: dict, about: dict[str, Any]) -> str:
    """Print a result (as JSON after the fields ``about`` it); its status."""
    status, result = outcome["status"], outcome["result"]
    if config.output == "json":
        echo_json({**about, **outcome_json(status, result)})
    else:
        click.echo(outcome_text(status, result))
    return status


def _follow(ctx: click.Context, config: Config, client: Client, run_id: str) -> None:
    if config.output == "text" and _is_terminal():
        follow_live(client, run_id, Console())
    elif config.output == "text":
        click.echo(run_id)
    if _echo_outcome(config, client.wait_for_result(run_id), {"runId": run_id}) != "succeeded":
        ctx.exit(1)


def _finite_delay(ctx: click.Context, param: click.Parameter, value: float | None) -> Any:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter("must be a number of seconds", ctx=ctx, param=param)
    return value


def _parse_requires(values: tuple[str, ...], no_requires: bool) -> Any:
    """The ``requires`` to send: tags, None to clear them, or UNSET to keep the workflow's."""
    if values and no_requires:
        raise click.UsageError("give either --requires or --no-requires, not both")
    if no_requires:
        return None
    if not values:
        return UNSET
    return tag_flags(values, "--requires")


@click.command(context_settings={"ignore_unknown_options": True})
@global_options
@click.argument("target")
@click.argument("arguments", nargs=-1)
@click.option("--no-wait", is_flag=True, help="Print the run's ID and return at once.")
@click.option("--idempotency-key", help="Submitting again with this key returns the same run.")
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    callback=_finite_delay,
    metavar="SECONDS",
    help="Start the run this many seconds from now (instead of the workflow's delay).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    metavar="N",
    help="Retry the root step up to N times, each straight after a failure (0: never).",
)
@click.option(
    "--requires",
    multiple=True,
    metavar="KEY:VALUE",
    help="Tags the run's workers must have, e.g. gpu:A100 (repeatable; replaces the workflow's).",
)
@click.option("--no-requires", is_flag=True, help="Drop the workflow's requires.")
@click.option("--memo/--no-memo", default=None, help="Memoise the run's steps (or not) by default.")
@click.pass_context
def submit(
    ctx: click.Context,
    target: str,
    arguments: tuple[str, ...],
    no_wait: bool,
    idempotency_key: str | None,
    delay: float | None,
    retries: int | None,
    requires: tuple[str, ...],
    no_requires: bool,
    memo: bool | None,
) -> None:
    """Run the workflow MODULE/TARGET with JSON ARGUMENTS and wait for its result.

    The options replace the workflow's registered ones for this run. Exits with 1 if the run
    does not succeed.
    """
    module, name = _split_target(target)
    values = _parse_arguments(arguments)
    tags = _parse_requires(requires, no_requires)
    config = get_config(ctx)
    with connect(config, patient=not no_wait) as client:
        submitted = client.submit(
            config.workspace,
            module,
            name,
            values,
            idempotency_key=idempotency_key,
            delay=delay,
            retries=retries,
            requires=tags,
            memo=memo,
        )
        if no_wait:
            echo_reply(config, submitted, lambda reply: reply["runId"])
            return
        _follow(ctx, config, client, submitted["runId"])


@click.group()
@global_options
def runs() -> None:
    """Inspect, cancel and re-run runs."""


runs.add_command(list_runs)


@runs.command()
@global_options
@click.argument("run_id")
@click.option("--no-wait", is_flag=True, help="Show the run as it is now.")
@click.pass_context
def inspect(ctx: click.Context, run_id: str, no_wait: bool) -> None:
    """Show the steps of run RUN_ID, once it has finished unless --no-wait."""
    config = get_config(ctx)
    with connect(config, patient=not no_wait) as client:
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
@click.argument("reference")
@click.option("--no-wait", is_flag=True, help="Show the result as it is now.")
@click.pass_context
def result(ctx: click.Context, reference: str, no_wait: bool) -> None:
    """Print the result of a run (RUN), of a step (RUN:STEP) or of one attempt
    (RUN:STEP:ATTEMPT), once it has finished unless --no-wait.

    A run's result is its root step's latest attempt's; a step's follows retries and other
    forwards to its final one; an attempt's is its own (a failed attempt that was retried
    shows its error). Exits with 1 if it finished without succeeding.
    """
    config = get_config(ctx)
    parts = reference.split(":")
    if len(parts) > 3 or not all(parts):
        raise click.BadParameter(
            "expected RUN, RUN:STEP or RUN:STEP:ATTEMPT", param_hint="REFERENCE"
        )
    with connect(config, patient=not no_wait) as client:
        if len(parts) == 1:
            outcome = client.result(reference) if no_wait else client.wait_for_result(reference)
        else:
            execution_id = reference if len(parts) == 3 else _latest_attempt(client, reference)
            outcome = client.wait_for_execution(
                execution_id, timeout=0 if no_wait else None, own_attempt=len(parts) == 3
            )
    status = _echo_outcome(config, outcome, {})
    if status not in UNFINISHED and status not in NOT_FAILED:
        ctx.exit(1)


def _latest_attempt(client: Client, step_id: str) -> str:
    snapshot = client.run(step_id.split(":", 1)[0])
    for step in snapshot["steps"]:
        if step["id"] == step_id and step["executions"]:
            return step["executions"][-1]["id"]
    raise click.ClickException(f"No step {step_id!r}.")


@runs.command()
@global_options
@click.argument("execution_id")
@click.pass_context
def cancel(ctx: click.Context, execution_id: str) -> None:
    """Cancel execution EXECUTION_ID (RUN:STEP:ATTEMPT) and its unfinished descendants."""
    config = get_config(ctx)
    with connect(config) as client:
        cancelled = client.cancel(execution_id)
    if config.output == "json":
        echo_json({"cancelled": cancelled})
    elif cancelled:
        for cancelled_id in cancelled:
            click.echo(f"Cancelled {cancelled_id}")
    else:
        click.echo(f"Nothing to cancel: {execution_id} has already finished.")


_STEP_ID = re.compile(r"^([^:\s]+):([1-9][0-9]*)$")


@runs.command()
@global_options
@click.argument("step_id", metavar="RUN:STEP")
@click.option("--no-wait", is_flag=True, help="Print the new execution's ID and return at once.")
@click.pass_context
def rerun(ctx: click.Context, step_id: str, no_wait: bool) -> None:
    """Run step RUN:STEP again, as a new attempt, and wait for its result.

    The attempt runs in the workspace given with -w/--workspace (or COFLUX_WORKSPACE, or
    coflux.toml), which must be the step's own or a descendant of it; by default in the
    workspace of the step's latest execution. Exits with 1 if it does not succeed.
    """
    matched = _STEP_ID.match(step_id)
    if matched is None:
        raise click.BadParameter("expected RUN:STEP, e.g. Rabc123:1", param_hint="RUN:STEP")
    config = get_config(ctx)
    with connect(config, patient=not no_wait) as client:
        started = client.rerun(step_id, workspace=configured_workspace(ctx))
        if no_wait:
            echo_reply(config, started, lambda reply: reply["executionId"])
            return
        if matched.group(2) == "1" and config.output == "text" and _is_terminal():
            follow_live(client, started["runId"], Console())
        elif config.output == "text":
            click.echo(started["executionId"])
        if matched.group(2) == "1":
            # The run's outcome is its root step's latest attempt: this one.
            outcome = client.wait_for_result(started["runId"])
        else:
            outcome = client.wait_for_execution(started["executionId"])
    if _echo_outcome(config, outcome, started) != "succeeded":
        ctx.exit(1)
