"""``coflux worker``: run a worker hosting modules' targets, optionally reloading on changes."""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import click

from .. import _blobs
from .._client import ClientError
from .._config import Config, batching_environment
from .._worker import WorkerError, run_worker
from .manifests import register_workflows
from .options import explain, get_config, global_options, tag_flags

DEFAULT_DRAIN_TIMEOUT = 120.0
_IGNORED_DIRECTORIES = frozenset({"__pycache__", "venv", "node_modules"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def default_concurrency() -> int:
    return min((os.cpu_count() or 1) + 4, 32)


class Duration(click.ParamType):
    """Seconds, or a number with a unit: ``90``, ``1.5s``, ``2m``, ``1h``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value))
        if match is None:
            self.fail(f"{value!r} is not a duration (e.g. 30, 90s, 2m)", param, ctx)
        return float(match[1]) * _UNIT_SECONDS[match[2] or "s"]


class SourceChanges:
    """Changes to Python files under ``root``, outside hidden directories and environments."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, change: Any, path: str) -> bool:
        if not path.endswith(".py"):
            return False
        try:
            parts = Path(path).relative_to(self.root).parts
        except ValueError:
            return False
        return not any(part.startswith(".") or part in _IGNORED_DIRECTORIES for part in parts)


@dataclass(frozen=True)
class WorkerOptions:
    """What ``coflux._worker.run_worker`` is called with."""

    host: str
    project: str
    workspace: str
    modules: list[str]
    concurrency: int
    max_processes: int | None
    provides: dict[str, list[str]]
    accepts: dict[str, list[str]]
    session: str | None
    drain_timeout: float
    secure: bool
    token: str | None
    fresh_executors: bool


def _tags(
    flags: tuple[str, ...], configured: dict[str, list[str]], option: str
) -> dict[str, list[str]]:
    """Tags given with ``option`` (which replace the configured ones), or the configured ones."""
    return tag_flags(flags, option) if flags else configured


def log_to_stderr() -> None:
    """Show what the worker does (connecting, its session, retries, draining) on stderr."""
    logger = logging.getLogger("coflux")
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def serve(options: WorkerOptions, config: Config, register: bool) -> None:
    """Register the workflows if asked, then run the worker until it is stopped.

    The entry point of the worker process when watching for changes, so it must be importable.
    """
    log_to_stderr()
    if register:
        try:
            manifest = register_workflows(config, options.modules)
        except ClientError as exc:
            raise click.ClickException(
                f"cannot register the workflows: {explain(exc, config)}"
            ) from None
        logging.getLogger("coflux.worker").info(
            "registered the workflows of %s in workspace %s", ", ".join(manifest), config.workspace
        )
    try:
        run_worker(**asdict(options), settings=config)
    except WorkerError as exc:
        raise click.ClickException(str(exc)) from None


def _serve_reloaded(options: WorkerOptions, config: Config, register: bool) -> None:
    try:
        serve(options, config, register)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


@click.command()
@global_options
@click.argument("modules", nargs=-1)
@click.option("--dev", is_flag=True, help="Same as --watch --register.")
@click.option("--watch", is_flag=True, help="Restart when a .py file under here changes.")
@click.option("--register", is_flag=True, help="Register the modules' workflows first.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=0),
    help="Executions at once; 0 = no limit [default: CPUs + 4, at most 32].",
)
@click.option(
    "--max-processes",
    type=click.IntRange(min=0),
    help="Executions at once counting those blocked waiting for results; 0 = no cap "
    "[default: 4 × concurrency, no cap if it is unlimited].",
)
@click.option(
    "--provides",
    multiple=True,
    metavar="KEY:VALUE,…",
    help="Tags for routing (repeatable), e.g. gpu:A100,fast.",
)
@click.option(
    "--accepts",
    multiple=True,
    metavar="KEY:VALUE,…",
    help="Take only work requiring one of these values per key (repeatable), e.g. tier:batch.",
)
@click.option("--session", envvar="COFLUX_SESSION", help="Resume this session (pool workers).")
@click.option(
    "--drain-timeout",
    type=Duration(),
    default=DEFAULT_DRAIN_TIMEOUT,
    show_default=True,
    help="Seconds to let running work finish when stopping; 0 = no limit.",
)
@click.option(
    "--fresh-executors",
    is_flag=True,
    help="Run each execution in a newly forked process instead of reusing executor processes.",
)
@click.pass_context
def worker(
    ctx: click.Context,
    modules: tuple[str, ...],
    dev: bool,
    watch: bool,
    register: bool,
    concurrency: int | None,
    max_processes: int | None,
    provides: tuple[str, ...],
    accepts: tuple[str, ...],
    session: str | None,
    drain_timeout: float,
    fresh_executors: bool,
) -> None:
    """Run a worker hosting the targets of MODULES (default: [worker] modules of coflux.toml)."""
    config = get_config(ctx)
    if session and not config.token:
        # A pool-launched worker's credential is its session's token, for blobs and assets too.
        config = replace(config, token=session)
        _blobs.configure(config)
    # Executor processes inherit the environment: how they batch logs and metric points.
    os.environ.update(batching_environment(config))
    chosen = list(modules) or list(config.worker.modules)
    if not chosen:
        raise click.UsageError("name the modules, or list them in coflux.toml ([worker] modules)")
    provided = _tags(provides, config.worker.provides, "--provides")
    accepted = _tags(accepts, config.worker.accepts, "--accepts")
    if concurrency is None:
        concurrency = config.worker.concurrency
    if max_processes is None:
        max_processes = config.worker.max_processes
    options = WorkerOptions(
        host=config.host,
        project=config.project,
        workspace=config.workspace,
        modules=chosen,
        concurrency=default_concurrency() if concurrency is None else concurrency,
        max_processes=max_processes,
        provides=provided,
        accepts=accepted,
        session=session,
        drain_timeout=drain_timeout,
        secure=config.secure,
        token=config.token,
        fresh_executors=fresh_executors,
    )
    # Modules are named relative to the working directory, as with ``python -m``.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if not (watch or dev):
        serve(options, config, register or dev)
        return

    from watchfiles import run_process

    root = Path.cwd()
    run_process(
        root,
        target=_serve_reloaded,
        args=(options, config, register or dev),
        callback=lambda changes: click.echo("Files changed: restarting the worker…", err=True),
        watch_filter=SourceChanges(root),
        # A restart drains the worker first, as stopping it does.
        sigint_timeout=int(drain_timeout) + 5 if drain_timeout else 24 * 3600,
    )
