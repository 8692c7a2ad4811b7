"""Fixtures for the SDK's tests: importable throwaway modules, and ``coflux worker`` run without
serving. Nothing here needs a server."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from coflux.cli import cli

MakeModule = Callable[..., ModuleType]

# The module, not the command that ``coflux._cli`` exports under the same name.
worker_command = importlib.import_module("coflux._cli.worker")


@pytest.fixture
def modules_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on ``sys.path``; modules imported from it are forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in set(sys.modules) - before:
            del sys.modules[name]


@pytest.fixture
def make_module(modules_dir: Path) -> MakeModule:
    """Write ``files`` (relative path → source) under a fresh package name and import it.

    The package name is unique per call, so targets never clash in the SDK's registry; write
    ``PKG`` in a source to refer to it. Returns the imported top-level module.
    """

    def make(files: dict[str, str]) -> ModuleType:
        package = f"sdk_{uuid.uuid4().hex[:8]}"
        for relative, source in {"__init__.py": "", **files}.items():
            path = modules_dir / package / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source).replace("PKG", package))
        importlib.invalidate_caches()
        return importlib.import_module(package)

    return make


@pytest.fixture
def invoke_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Runs ``coflux worker app`` in an empty directory, with no ``COFLUX_*`` variable set, and
    returns the options it would serve with. With ``check=False`` a failing command returns
    click's result instead of failing the test."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("COFLUX_")]:
        monkeypatch.delenv(name)
    served: list[worker_command.WorkerOptions] = []
    monkeypatch.setattr(worker_command, "serve", lambda options, *_: served.append(options))

    def invoke(*args: str, env: dict[str, str] | None = None, check: bool = True) -> Any:
        result = CliRunner().invoke(cli, ["worker", "app", *args], env=env)
        if result.exit_code != 0 and not check:
            return result
        assert result.exit_code == 0, result.output
        return served.pop()

    return invoke
