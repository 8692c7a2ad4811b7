"""The ``coflux`` command line: run workers, submit runs, inspect them, manage workspaces.

Global options (``--host``, ``--project``, ``-w/--workspace``, ``--token``, ``-o/--output``,
``-c/--config``) go before the command or right after its name; see ``coflux._config`` for
how they combine with the environment and ``coflux.toml``.
"""

from __future__ import annotations

import click

from .._version import __version__
from .activity import queue, sessions
from .assets import assets
from .blobs import blobs
from .inputs import inputs
from .logs import logs
from .manifests import manifests
from .options import CofluxGroup, global_options
from .pools import pools
from .runs import runs, submit
from .tokens import tokens
from .worker import worker
from .workspaces import workspaces


@click.group(cls=CofluxGroup, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
@click.version_option(__version__, prog_name="coflux")
def cli() -> None:
    """Coflux: durable workflows in plain Python."""


cli.add_command(worker)
cli.add_command(submit)
cli.add_command(runs)
cli.add_command(manifests)
cli.add_command(workspaces)
cli.add_command(logs)
cli.add_command(assets)
cli.add_command(blobs)
cli.add_command(inputs)
cli.add_command(sessions)
cli.add_command(queue)
cli.add_command(pools)
cli.add_command(tokens)


def main() -> None:
    cli(prog_name="coflux")


__all__ = ["cli", "main"]
