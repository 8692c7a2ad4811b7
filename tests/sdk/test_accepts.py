"""A worker's ``accepts`` tags: from ``--accepts``, ``COFLUX_WORKER_ACCEPTS`` or coflux.toml."""

from __future__ import annotations

import pytest

from coflux._config import ConfigError, load_config


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


def test_the_worker_command_takes_accepts_like_provides(invoke_worker):
    options = invoke_worker("--accepts", "tier:batch,gpu:A100", "--accepts", "tier:bulk")

    assert options.accepts == {"tier": ["batch", "bulk"], "gpu": ["A100"]}
    assert options.provides == {}


def test_the_flag_replaces_the_configured_accepts(invoke_worker):
    environ = {"COFLUX_WORKER_ACCEPTS": "tier:batch"}

    assert invoke_worker(env=environ).accepts == {"tier": ["batch"]}
    assert invoke_worker("--accepts", "fast", env=environ).accepts == {"fast": ["true"]}


def test_the_worker_command_rejects_malformed_accepts(invoke_worker):
    result = invoke_worker("--accepts", "tier:", check=False)

    assert result.exit_code == 2
    assert "invalid tag" in result.stderr
