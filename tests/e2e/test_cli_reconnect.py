"""Commands that wait ride out a restart of the server; one that is not there fails at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.e2e.flows.marks import mark, wait_for_mark
from tests.processes import ROOT, cli, cli_env, free_port, wait_until

pytestmark = pytest.mark.e2e

FLOWS = "tests.e2e.flows.failure_model"


def connected(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds an established TCP connection to ``port`` (Linux)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] == "01" and fields[9] in inodes:
                    return True
    return False


def _command(name: str, run_id: str | None, directory: str) -> list[str]:
    if name == "submit":
        return ["submit", f"{FLOWS}/waits_for_go", json.dumps(directory)]
    assert run_id is not None
    return {
        "runs result": ["runs", "result", run_id],
        "runs inspect": ["runs", "inspect", run_id, "-o", "json"],
        "logs -f": ["logs", run_id, "-f"],
    }[name]


@pytest.mark.parametrize("command", ["runs result", "submit", "runs inspect", "logs -f"])
def test_a_waiting_command_carries_on_across_a_server_restart(
    fresh_server, start_worker, tmp_path, command
):
    server = fresh_server
    start_worker(server, FLOWS)
    run_id = None
    if command != "submit":
        run_id = server.submit(FLOWS, "waits_for_go", str(tmp_path))
        wait_for_mark(tmp_path, "started", timeout=30)
    waiting = subprocess.Popen(
        [sys.executable, "-m", "coflux", *_command(command, run_id, str(tmp_path))],
        cwd=ROOT,
        env=cli_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_mark(tmp_path, "started", timeout=30)
        # Its request is held by the server until the run ends (or, for logs, new lines come).
        wait_until(lambda: connected(waiting.pid, server.port), timeout=30, message="the CLI")

        server.stop()
        time.sleep(1)
        # The worker's reconnect backoff may exceed the tests' short grace period.
        server.env["COFLUX_SESSION_GRACE"] = "30"
        server.start()
        mark(tmp_path, "go")

        stdout, stderr = waiting.communicate(timeout=120)
    finally:
        if waiting.poll() is None:
            waiting.kill()

    assert waiting.returncode == 0, (stdout, stderr)
    if command == "runs inspect":
        assert json.loads(stdout)["steps"][0]["executions"][0]["state"] == "succeeded"
    elif command == "logs -f":
        assert stdout.count("waiting for go") == 1
    else:
        assert stdout.rstrip().endswith('"done"')
    assert f"cannot reach the server at {server.url}" in stderr
    assert "trying again in" in stderr
    assert f"reached the server at {server.url} again" in stderr


def test_a_server_that_is_not_there_fails_at_once(fresh_server):
    fresh_server.port = free_port()

    started = time.monotonic()
    process = cli(fresh_server, "runs", "result", "R1234567")

    assert process.returncode == 1
    assert time.monotonic() - started < 15
    assert f"cannot reach the server at http://127.0.0.1:{fresh_server.port}" in process.stderr
    assert "trying again" not in process.stderr
