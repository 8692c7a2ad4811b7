"""A worker's ``accepts`` tags: from ``--accepts``, ``COFLUX_WORKER_ACCEPTS`` or coflux.toml."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from coflux._config import ConfigError, load_config
from coflux.cli import cli

# The module, not the command that ``coflux._cli`` exports under the same name.
worker_command = importlib.import_module("coflux._cli.worker")


def test_it_reads_accepts_from_the_worker_section(tmp_path):
    (tmp_path / "coflux.toml").write_text('[worker]\naccepts = {tier = ["batch"], gpu = true}\n')

    worker = load_config({}, environ={}, cwd=tmp_path).worker

    assert worker.accepts == {"tier": ["batch"], "gpu": ["true"]}
    assert worker.provides == {}


def test_the_environment_overrides_the_file(tmp_path):
    (tmp_path / "coflux.toml").write_text('[worker]\naccepts = "tier:batch"\n')
    environ = {"COFLUX_WORKER_ACCEPTS": "tier:bulk,tier:batch"}

    assert load_config({}, environ=environ, cwd=tmp_path).worker.accepts == {
        "tier": ["bulk", "batch"]
    }


def test_it_rejects_malformed_accepts(tmp_path):
    (tmp_path / "coflux.toml").write_text("[worker]\naccepts = 3\n")

    with pytest.raises(ConfigError, match="worker.accepts"):
        load_config({}, environ={}, cwd=tmp_path)


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
        if result.exit_code != 0:
            return result
        return served.pop()

    return invoke


def test_the_worker_command_takes_accepts_like_provides(invoke):
    options = invoke("--accepts", "tier:batch,gpu:A100", "--accepts", "tier:bulk")

    assert options.accepts == {"tier": ["batch", "bulk"], "gpu": ["A100"]}
    assert options.provides == {}


def test_the_flag_replaces_the_configured_accepts(invoke):
    assert invoke(env={"COFLUX_WORKER_ACCEPTS": "tier:batch"}).accepts == {"tier": ["batch"]}
    assert invoke("--accepts", "fast", env={"COFLUX_WORKER_ACCEPTS": "tier:batch"}).accepts == {
        "fast": ["true"]
    }


def test_the_worker_command_rejects_malformed_accepts(invoke):
    result = invoke("--accepts", "tier:")

    assert result.exit_code == 2
    assert "invalid tag" in result.stderr
