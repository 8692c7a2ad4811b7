"""The CLI, run in-process with click's runner against the session's real server."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from coflux._client import ApiError, Client
from coflux.cli import cli
from tests.processes import SUPER_TOKEN
from tests.sample_targets import GREET

FIXTURES = Path(__file__).parent / "fixtures"


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.runner.invoke(cli, list(args), env={**self.env, **(env or {})})

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:
        result = self(*args, env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def host(live_server_url: str) -> str:
    return live_server_url.removeprefix("http://")


@pytest.fixture
def workspace_name() -> str:
    """A workspace of its own for each test, since all tests share one server."""
    return f"cli/{secrets.token_hex(4)}"


@pytest.fixture
def run_cli(host: str, workspace_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Runs ``coflux`` in an empty directory, configured only by COFLUX_HOST/WORKSPACE/TOKEN."""
    monkeypatch.chdir(tmp_path)
    for name in [
        "COFLUX_HOST",
        "COFLUX_PROJECT",
        "COFLUX_WORKSPACE",
        "COFLUX_TOKEN",
        "COFLUX_CONFIG",
        "COFLUX_OUTPUT",
        "COFLUX_SECURE",
        "COFLUX_SESSION",
        "COFLUX_WORKER_MODULES",
        "COFLUX_WORKER_CONCURRENCY",
        "COFLUX_WORKER_PROVIDES",
        "COFLUX_WORKER_ACCEPTS",
    ]:
        monkeypatch.delenv(name, raising=False)
    return Cli(
        {"COFLUX_HOST": host, "COFLUX_WORKSPACE": workspace_name, "COFLUX_TOKEN": SUPER_TOKEN}
    )


@pytest.fixture
def client(host: str) -> Client:
    with Client(host, "default", token=SUPER_TOKEN) as client:
        yield client


@pytest.fixture
def registered(client: Client, workspace_name: str) -> str:
    """The test's workspace, with ``app.flows/greet`` registered."""
    client.register_manifests(workspace_name, {"app.flows": [GREET]})
    return workspace_name


@pytest.fixture
def worker(host: str, client: Client, workspace_name: str, tmp_path: Path) -> Iterator[Path]:
    """``coflux worker --register greetings flaky`` (tests/cli/fixtures) in the test's workspace,
    once its workflows are registered; yields its log file."""
    env = {**os.environ, "COFLUX_HOST": host, "COFLUX_WORKSPACE": workspace_name}
    env["COFLUX_TOKEN"] = SUPER_TOKEN
    for name in ("COFLUX_PROJECT", "COFLUX_CONFIG", "DATABASE_URL"):
        env.pop(name, None)
    log = tmp_path / "worker.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "coflux", "worker", "--register", "greetings", "flaky"],
            cwd=FIXTURES,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def registered() -> bool:
        try:
            return bool(client.manifests(workspace_name))
        except ApiError:  # the worker has not created the workspace yet
            return False

    try:
        deadline = time.monotonic() + 30
        while not registered():
            assert process.poll() is None, f"the worker exited: {log.read_text()}"
            assert time.monotonic() < deadline, "the worker did not register its workflows"
            time.sleep(0.1)
        yield log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


@pytest.fixture
def finished_run(run_cli: Cli, client: Client, worker: Path) -> str:
    """A run of ``greetings/greet("ada")`` that has succeeded: root step 1, ``shout`` step 2."""
    ids = run_cli.json("submit", "greetings/greet", '"ada"', "--no-wait", "-o", "json")
    assert client.wait_for_result(ids["runId"], timeout=60)["status"] == "succeeded"
    return ids["runId"]
