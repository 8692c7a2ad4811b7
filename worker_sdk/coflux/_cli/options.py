"""What every command shares: the global options, the resolved settings, errors, output."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console, RenderableType

from .. import _blobs
from .._client import ApiError, Client, ClientError
from .._config import (
    CONFIG_FILE,
    Config,
    ConfigError,
    load_config,
    parse_tags,
    read_config_file,
)

F = TypeVar("F", bound=Callable[..., Any])

_FLAGS = "coflux.flags"
_CONFIG = "coflux.config"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    # ctx.meta is shared by a command and its parent groups, so a flag given after the
    # command's name overrides the same flag given before it.
    if value is not None and param.name is not None:
        ctx.meta.setdefault(_FLAGS, {})[param.name] = value
    return value


def _option(*declarations: str, **attributes: Any) -> Callable[[F], F]:
    return click.option(*declarations, expose_value=False, callback=_remember, **attributes)


def global_options(command: F) -> F:
    """The options accepted before a command and right after its name."""
    for option in reversed(_global_options()):
        command = option(command)
    return command


def connection_options(command: F) -> F:
    """The global options but ``-o/--output``, for a command whose ``-o`` names a file."""
    for option in reversed(_global_options(output=False)):
        command = option(command)
    return command


def _global_options(*, output: bool = True) -> list[Callable[[F], F]]:
    options = [
        _option("--host", help="Server host and port [default: localhost:7777]."),
        _option("--project", help="Project [default: default]."),
        _option("-w", "--workspace", help="Workspace [default: default]."),
        _option("--token", help="Access token."),
        _option(
            "-o",
            "--output",
            type=click.Choice(["text", "json"]),
            help="Output format [default: text].",
        ),
        _option(
            "-c",
            "--config",
            type=click.Path(dir_okay=False),
            help="Configuration file [default: ./coflux.toml].",
        ),
    ]
    return options if output else [options[0], options[1], options[2], options[3], options[5]]


def get_config(ctx: click.Context) -> Config:
    """The settings: flags > COFLUX_* environment > configuration file > defaults."""
    config = ctx.meta.get(_CONFIG)
    if config is None:
        try:
            config = load_config(ctx.meta.get(_FLAGS, {}))
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        ctx.meta[_CONFIG] = config
        # Values shown by commands may be blobs or hold assets: read them from these settings.
        _blobs.configure(config)
    return config


def configured_workspace(ctx: click.Context) -> str | None:
    """The workspace if one was chosen (flag, ``COFLUX_WORKSPACE`` or file), else None.

    For commands where leaving it out means something other than the default workspace.
    """
    get_config(ctx)  # reports an invalid configuration first
    flags = ctx.meta.get(_FLAGS, {})
    if flags.get("workspace"):
        return flags["workspace"]
    if os.environ.get("COFLUX_WORKSPACE"):
        return os.environ["COFLUX_WORKSPACE"]
    file = flags.get("config") or os.environ.get("COFLUX_CONFIG")
    if not file and Path(CONFIG_FILE).is_file():
        file = CONFIG_FILE
    return read_config_file(Path(file)).get("workspace") if file else None


def connect(config: Config, *, patient: bool = False) -> Client:
    """A client of the configured server; a ``patient`` one rides out a restart of the server
    once reached, saying on stderr what it retries and why (for commands that wait)."""
    return Client(
        config.host,
        config.project,
        secure=config.secure,
        token=config.token,
        notice=_notice if patient else None,
    )


def _notice(text: str) -> None:
    click.echo(text, err=True)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


def echo_reply(config: Config, reply: Any, text: Callable[[Any], str]) -> None:
    """The server's reply: as JSON with ``-o json``, else as the line(s) ``text(reply)``."""
    if config.output == "json":
        echo_json(reply)
    else:
        click.echo(text(reply))


def echo_listing(
    config: Config,
    key: str,
    listed: list[Any],
    empty: str,
    table: Callable[[list[Any]], RenderableType],
) -> None:
    """A list from the server: ``{key: listed}`` with ``-o json``, else ``empty`` when there is
    nothing, or ``table(listed)``."""
    if config.output == "json":
        echo_json({key: listed})
    elif not listed:
        click.echo(empty)
    else:
        Console().print(table(listed))


def tag_flags(values: Iterable[str], flag: str) -> dict[str, list[str]]:
    """Tags given with the option ``flag`` (``key:value,…``, repeatable); a bad one is a usage
    error of that option."""
    try:
        return parse_tags(values)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint=flag) from None


class CofluxGroup(click.Group):
    """Reports failures of the server and of the settings as ``Error: …`` with exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClientError as exc:
            raise click.ClickException(explain(exc, ctx.meta.get(_CONFIG))) from None
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None


def explain(error: ClientError, config: Config | None) -> str:
    """What to tell people of a failed request; for a refused credential, what to do."""
    if not isinstance(error, ApiError):
        return str(error)
    if error.code == "unauthorized":
        if config is not None and not config.token:
            return (
                "unauthorized: the server requires a token and none is configured: set "
                'COFLUX_TOKEN, pass --token, or put token = "…" in coflux.toml.'
            )
        return f"unauthorized: {error.message}"
    if error.code == "forbidden":
        return f"forbidden: {error.message}"
    return error.message
