"""The process launcher with real processes: a small Python program stands in for ``coflux
worker`` (given as the pool's adapter), reporting what it was started with and how it was
stopped. (``tests/e2e/test_pools.py`` runs the real worker through it.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import wait_until
from workspaces.launchers import LaunchError, WorkerSpec
from workspaces.launchers.process import ProcessLauncher, _start_time, cli_command

WORKER = """
import json, os, signal, sys, time
report = os.environ["REPORT"]
def drain(signum, frame):
    print("draining", flush=True)
    open(report + ".stopped", "w").write("SIGTERM")
    sys.exit(0)
if os.environ.get("IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, drain)
json.dump(
    {"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ), "pgid": os.getpgid(0)},
    open(report, "w"),
)
print("started", flush=True)
if os.environ.get("EXIT"):
    print("giving up", flush=True)
    sys.exit(int(os.environ["EXIT"]))
while True:
    time.sleep(0.1)
"""


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def spec(tmp_path: Path, **env: str) -> WorkerSpec:
    return WorkerSpec(
        launch_id="Ltest",
        modules=["app.flows", "app.more"],
        env={"REPORT": str(tmp_path / "report.json"), "COFLUX_SESSION": "S1.secret", **env},
        adapter=[sys.executable, "-c", WORKER],
    )


def started(tmp_path: Path) -> dict:
    wait_until((tmp_path / "report.json").exists, timeout=20)
    wait_until(lambda: (tmp_path / "report.json").stat().st_size > 0, timeout=5)
    return json.loads((tmp_path / "report.json").read_text())


def test_it_starts_the_worker_in_its_directory_with_its_environment(
    data_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("COFLUX_SECRET", "the server's own")
    monkeypatch.setenv("DATABASE_URL", "postgres://server")
    directory = tmp_path / "project"
    directory.mkdir()
    launcher = ProcessLauncher(stop_seconds=10)

    handle = launcher.launch(spec(tmp_path), {"directory": str(directory)})
    report = started(tmp_path)

    assert report["argv"] == ["worker", "app.flows", "app.more"]
    assert report["cwd"] == str(directory)
    assert report["env"]["COFLUX_SESSION"] == "S1.secret"
    assert report["env"]["PATH"] == os.environ["PATH"]
    assert "COFLUX_SECRET" not in report["env"] and "DATABASE_URL" not in report["env"]
    assert report["pgid"] == handle["pid"]
    assert handle["log"] == str(data_dir / "launches" / "Ltest.log")
    assert handle["startTime"] == _start_time(handle["pid"])
    wait_until(lambda: "started" in Path(handle["log"]).read_text(), timeout=5)
    launcher.stop(handle, {})


def test_a_running_worker_is_alive_and_a_stopped_one_drained_first(data_dir, tmp_path):
    launcher = ProcessLauncher(stop_seconds=10)
    handle = launcher.launch(spec(tmp_path), {})
    started(tmp_path)

    assert launcher.poll(handle, {}).alive
    launcher.stop(handle, {})

    assert (tmp_path / "report.json.stopped").read_text() == "SIGTERM"
    assert not launcher.poll(handle, {}).alive
    with pytest.raises(ProcessLookupError):
        os.killpg(handle["pid"], 0)


def test_a_worker_that_does_not_drain_in_time_is_killed(data_dir, tmp_path):
    launcher = ProcessLauncher(stop_seconds=0.5)
    handle = launcher.launch(spec(tmp_path, IGNORE_TERM="1"), {})
    started(tmp_path)

    began = time.monotonic()
    launcher.stop(handle, {})

    assert 0.4 < time.monotonic() - began < 5
    assert not (tmp_path / "report.json.stopped").exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(handle["pid"], 0)


def test_a_worker_that_exited_is_reported_with_its_code_and_output(data_dir, tmp_path):
    launcher = ProcessLauncher()
    handle = launcher.launch(spec(tmp_path, EXIT="3"), {})
    started(tmp_path)

    polls = []

    def ended() -> bool:
        polls.append(launcher.poll(handle, {}))
        return not polls[-1].alive

    wait_until(ended, timeout=20)
    status = polls[-1]

    assert not status.alive
    assert status.error.splitlines() == ["exited with code 3", "started", "giving up"]


def test_a_process_started_before_a_restart_is_watched_by_its_id(tmp_path):
    # Another server process launched it: this one knows it only by its handle.
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        handle = {"pid": process.pid, "log": str(tmp_path / "none.log")}
        launcher = ProcessLauncher(stop_seconds=5)

        assert launcher.poll({**handle, "startTime": _start_time(process.pid)}, {}).alive
        # The same ID, but a process started at another time: the launched one ended.
        assert not launcher.poll({**handle, "startTime": 1}, {}).alive
    finally:
        process.kill()
        process.wait()

    status = launcher.poll({**handle, "startTime": None}, {})
    assert (status.alive, status.error) == (False, "the process ended")


def test_a_missing_directory_or_command_is_a_launch_error(data_dir, tmp_path):
    launcher = ProcessLauncher()

    with pytest.raises(LaunchError, match="does not exist"):
        launcher.launch(spec(tmp_path), {"directory": str(tmp_path / "nowhere")})
    missing = WorkerSpec("Lx", [], {}, adapter=[str(tmp_path / "no-such-command")])
    with pytest.raises(LaunchError, match="cannot run"):
        launcher.launch(missing, {})


def test_the_worker_command_is_this_python_unless_configured(settings):
    settings.COFLUX_CLI_PATH = ""
    assert cli_command() == [sys.executable, "-m", "coflux"]
    settings.COFLUX_CLI_PATH = "/opt/coflux/bin/coflux"
    assert cli_command() == ["/opt/coflux/bin/coflux"]
