"""Showing something of the workspace once, or kept up to date on a terminal (``--watch``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.live import Live

from .._client import Client
from .options import connect, echo_json, get_config

REFRESH_SECONDS = 1.0


def show(
    ctx: click.Context,
    key: str,
    fetch: Callable[[Client, str], Any],
    render: Callable[[Any], RenderableType],
    watch: bool,
) -> None:
    """Fetch for the configured workspace and print it: as ``{key: …}`` with ``-o json``, else
    rendered, and re-rendered every second until interrupted when watching on a terminal."""
    config = get_config(ctx)
    workspace = config.workspace
    with connect(config) as client:
        if config.output == "json":
            echo_json({key: fetch(client, workspace)})
            return
        console = Console()
        if not (watch and console.is_terminal):
            console.print(render(fetch(client, workspace)))
            return
        with Live(render(fetch(client, workspace)), console=console, auto_refresh=False) as live:
            try:
                while True:
                    time.sleep(REFRESH_SECONDS)
                    live.update(render(fetch(client, workspace)), refresh=True)
            except KeyboardInterrupt:
                pass
