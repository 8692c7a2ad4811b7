"""``[logs]`` and ``[metrics]``: how executions batch log entries and metric points."""

from __future__ import annotations

import pytest

from coflux._config import (
    BatchingConfig,
    ConfigError,
    batching_environment,
    batching_setting,
    load_config,
)


def test_the_defaults(tmp_path):
    config = load_config({}, environ={}, cwd=tmp_path)

    assert config.logs == BatchingConfig(batch_size=100, flush_interval=0.05)
    assert config.metrics == BatchingConfig(batch_size=100, flush_interval=0.2)


def test_the_environment_beats_the_file(tmp_path):
    (tmp_path / "coflux.toml").write_text(
        "[logs]\nbatch_size = 10\nflush_interval = 1\n[metrics]\nflush_interval = 0.5\n"
    )
    environ = {"COFLUX_LOGS_FLUSH_INTERVAL": "2.5", "COFLUX_METRICS_BATCH_SIZE": "7"}

    config = load_config({}, environ=environ, cwd=tmp_path)

    assert config.logs == BatchingConfig(batch_size=10, flush_interval=2.5)
    assert config.metrics == BatchingConfig(batch_size=7, flush_interval=0.5)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[logs]\ntype = "http"\n', "no type to set"),
        ('[metrics]\nurl = "http://x"\n', "no url to set"),
        ("[logs]\ncolour = 1\n", "unknown setting logs.colour"),
        ("[logs]\nbatch_size = 0\n", "logs.batch_size must be at least 1"),
        ('[metrics]\nflush_interval = "soon"\n', "metrics.flush_interval must be a number"),
        ("[metrics]\nflush_interval = -1\n", "metrics.flush_interval must be a number"),
        ("logs = 3\n", "must be a table"),
    ],
)
def test_it_rejects_bad_settings(tmp_path, text, message):
    (tmp_path / "coflux.toml").write_text(text)

    with pytest.raises(ConfigError, match=message):
        load_config({}, environ={}, cwd=tmp_path)


def test_it_rejects_a_bad_environment_variable(tmp_path):
    with pytest.raises(ConfigError, match="COFLUX_LOGS_BATCH_SIZE"):
        load_config({}, environ={"COFLUX_LOGS_BATCH_SIZE": "many"}, cwd=tmp_path)


def test_executors_read_what_the_worker_exports(tmp_path):
    (tmp_path / "coflux.toml").write_text("[logs]\nbatch_size = 5\n[metrics]\nbatch_size = 9\n")
    exported = batching_environment(load_config({}, environ={}, cwd=tmp_path))

    assert batching_setting("logs", exported) == BatchingConfig(5, 0.05)
    assert batching_setting("metrics", exported) == BatchingConfig(9, 0.2)


def test_executors_fall_back_to_the_defaults_on_bad_values():
    assert batching_setting("logs", {"COFLUX_LOGS_BATCH_SIZE": "x"}) == BatchingConfig(100, 0.05)
