"""Settings: flags > COFLUX_* environment > coflux.toml > defaults."""

from __future__ import annotations

import pytest

from coflux._config import Config, ConfigError, is_local_host, load_config, parse_tags


def write_config(path, text: str):
    path.write_text(text)
    return path


def test_it_defaults_to_a_local_server(tmp_path):
    config = load_config({}, environ={}, cwd=tmp_path)

    assert config == Config(
        host="localhost:7777", project="default", workspace="default", secure=False
    )
    assert config.server_url == "http://localhost:7777"


def test_flags_beat_the_environment_which_beats_the_file(tmp_path):
    write_config(
        tmp_path / "coflux.toml",
        'host = "file:1"\nproject = "file"\nworkspace = "file"\ntoken = "file"\n',
    )
    environ = {"COFLUX_HOST": "env:2", "COFLUX_PROJECT": "env"}

    config = load_config({"host": "flag:3"}, environ=environ, cwd=tmp_path)

    assert (config.host, config.project, config.workspace, config.token) == (
        "flag:3",
        "env",
        "file",
        "file",
    )


def test_it_reads_the_file_named_by_the_flag_or_the_environment(tmp_path):
    write_config(tmp_path / "a.toml", 'workspace = "from-a"\n')
    write_config(tmp_path / "b.toml", 'workspace = "from-b"\n')
    environ = {"COFLUX_CONFIG": "b.toml"}

    assert load_config({}, environ=environ, cwd=tmp_path).workspace == "from-b"
    assert load_config({"config": "a.toml"}, environ=environ, cwd=tmp_path).workspace == "from-a"


def test_it_reports_a_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.toml not found"):
        load_config({"config": "missing.toml"}, environ={}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('colour = "red"\n', "unknown setting colour"),
        ("[worker]\nthreads = 3\n", "unknown setting worker.threads"),
        ("[blobs]\nthresh = 3\n", "unknown setting blobs.thresh"),
        ("secure = 3\n", "secure must be true or false"),
        ("[worker]\nconcurrency = -1\n", "worker.concurrency"),
        ('output = "yaml"\n', "output must be one of text, json"),
        ("host = \n", "cannot read"),
    ],
)
def test_it_rejects_bad_files(tmp_path, text, message):
    write_config(tmp_path / "coflux.toml", text)

    with pytest.raises(ConfigError, match=message):
        load_config({}, environ={}, cwd=tmp_path)


def test_it_reads_the_worker_section(tmp_path):
    write_config(
        tmp_path / "coflux.toml",
        '[worker]\nmodules = ["app.flows"]\nconcurrency = 3\n'
        'provides = {gpu = ["A100"], fast = true}\n',
    )

    worker = load_config({}, environ={}, cwd=tmp_path).worker

    assert worker.modules == ("app.flows",)
    assert worker.concurrency == 3
    assert worker.provides == {"gpu": ["A100"], "fast": ["true"]}


def test_the_environment_overrides_the_worker_section(tmp_path):
    write_config(tmp_path / "coflux.toml", '[worker]\nmodules = ["a"]\nconcurrency = 3\n')
    environ = {
        "COFLUX_WORKER_MODULES": "b, c",
        "COFLUX_WORKER_CONCURRENCY": "5",
        "COFLUX_WORKER_PROVIDES": "gpu:H100",
    }

    worker = load_config({}, environ=environ, cwd=tmp_path).worker

    assert (worker.modules, worker.concurrency, worker.provides) == (
        ("b", "c"),
        5,
        {"gpu": ["H100"]},
    )


def test_it_accepts_top_level_modules(tmp_path):
    write_config(tmp_path / "coflux.toml", 'modules = ["app.flows"]\n')

    assert load_config({}, environ={}, cwd=tmp_path).worker.modules == ("app.flows",)


@pytest.mark.parametrize(
    ("host", "secure"),
    [
        ("localhost:7777", False),
        ("127.0.0.1:7777", False),
        ("[::1]:7777", False),
        ("studio.localhost", False),
        ("coflux.example.com", True),
        ("10.0.0.5:7777", True),
    ],
)
def test_it_uses_tls_unless_the_host_is_local(tmp_path, host, secure):
    assert load_config({"host": host}, environ={}, cwd=tmp_path).secure is secure


def test_secure_overrides_the_default_and_a_scheme_sets_it(tmp_path):
    plain = load_config({"host": "example.com"}, environ={"COFLUX_SECURE": "false"}, cwd=tmp_path)
    assert plain.secure is False
    tls = load_config({"host": "https://localhost:7777/"}, environ={}, cwd=tmp_path)
    assert (tls.host, tls.secure) == ("localhost:7777", True)


def test_it_parses_tags():
    assert parse_tags(["gpu:A100,gpu:H100", "fast"]) == {
        "gpu": ["A100", "H100"],
        "fast": ["true"],
    }
    with pytest.raises(ConfigError):
        parse_tags([":x"])


def test_it_knows_local_hosts():
    assert is_local_host("localhost")
    assert is_local_host("::1")
    assert not is_local_host("localhost.example.com")


def test_max_processes_comes_from_the_environment_or_the_file(tmp_path):
    write_config(tmp_path / "coflux.toml", "[worker]\nmax_processes = 12\n")

    assert load_config({}, environ={}, cwd=tmp_path).worker.max_processes == 12
    environ = {"COFLUX_WORKER_MAX_PROCESSES": "0"}
    # 0 is no cap, not unset.
    assert load_config({}, environ=environ, cwd=tmp_path).worker.max_processes == 0
    assert load_config({}, environ={}, cwd=tmp_path / "..").worker.max_processes is None
    with pytest.raises(ConfigError, match="COFLUX_WORKER_MAX_PROCESSES"):
        load_config({}, environ={"COFLUX_WORKER_MAX_PROCESSES": "many"}, cwd=tmp_path)
