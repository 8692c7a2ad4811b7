"""``coflux worker --max-processes``: executions at once, blocked ones included."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from coflux._worker import default_max_processes
from coflux.cli import cli

# The module, which ``coflux._cli`` shadows with its command of the same name.
worker_command = importlib.import_module("coflux._cli.worker")


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Runs ``coflux worker`` in an empty directory and returns what it would run."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("COFLUX_")]:
        monkeypatch.delenv(name)
    served: list[worker_command.WorkerOptions] = []
    monkeypatch.setattr(worker_command, "serve", lambda options, *_: served.append(options))

    def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
        result = CliRunner().invoke(cli, ["worker", "app", *args], env=env)
        assert result.exit_code == 0, result.output
        return served.pop()

    return invoke


def test_it_is_four_times_the_concurrency_unless_that_is_unlimited():
    assert default_max_processes(8) == 32
    assert default_max_processes(0) == 0


def test_left_out_the_worker_decides(invoke):
    assert invoke("--concurrency", "3").max_processes is None


def test_the_flag_beats_the_environment_which_beats_the_file(invoke, tmp_path):
    (tmp_path / "coflux.toml").write_text("[worker]\nmax_processes = 5\n")

    assert invoke().max_processes == 5
    assert invoke(env={"COFLUX_WORKER_MAX_PROCESSES": "6"}).max_processes == 6
    options = invoke("--max-processes", "0", env={"COFLUX_WORKER_MAX_PROCESSES": "6"})
    assert options.max_processes == 0
