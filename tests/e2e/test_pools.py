"""Pools end to end (SPEC §3.14, §8 test_pools.py): a real server launches real workers
(``coflux worker`` processes, through the process launcher) for work no worker takes, reuses
them, stops them once idle, notices when one dies, and launches nothing from a disabled pool.

Each test has a workspace of its own, so that its pools and launches are its own; afterwards
its pools are disabled, which stops their workers.
"""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import value_of
from tests.processes import ROOT, Server, cli, cli_json, wait_until

pytestmark = pytest.mark.e2e

APP = "tests.e2e.flows.app"
POOLED = "tests.e2e.flows.pooled"
ENDED = ("stopped", "failed", "dead")
_numbers = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(
        tmp_path_factory.mktemp("server"),
        COFLUX_LAUNCHER_TYPES="process",
        COFLUX_LAUNCH_STOP_SECONDS="10",
    ).start()
    yield server
    server.close()


@pytest.fixture
def space(server):
    """A fresh workspace with the test flows registered; its launched workers are stopped
    afterwards, whatever the test's outcome."""
    name = f"pools{next(_numbers)}"
    created = server.api("POST", "/workspaces", json={"name": name})
    assert created.status_code == 201, created.text
    cli(server, "manifests", "register", "-w", name, APP, POOLED, check=True)
    yield name
    for pool in server.api("GET", f"/workspaces/{name}/pools").json()["pools"]:
        server.api("POST", f"/workspaces/{name}/pools/{pool['name']}/disable")
    sessions = {launch["sessionId"] for launch in all_launches(server, name)}
    try:
        wait_until(
            lambda: all(launch["state"] in ENDED for launch in all_launches(server, name)),
            timeout=30,
            message="launched workers to stop",
        )
    finally:
        for pid in worker_processes(sessions):
            os.killpg(pid, signal.SIGKILL)


def create_pool(server: Server, workspace: str, name: str = "local", **body: Any) -> dict:
    body.setdefault("modules", [POOLED])
    fields = {"directory": str(ROOT), **body.pop("fields", {})}
    response = server.api(
        "POST",
        f"/workspaces/{workspace}/pools",
        json={"name": name, "type": "process", "fields": fields, **body},
    )
    assert response.status_code == 201, response.text
    return response.json()


def launches(server: Server, workspace: str, pool: str = "local") -> list[dict]:
    response = server.api("GET", f"/workspaces/{workspace}/pools/{pool}/launches")
    assert response.status_code == 200, response.text
    return response.json()["launches"]


def all_launches(server: Server, workspace: str) -> list[dict]:
    pools = server.api("GET", f"/workspaces/{workspace}/pools").json()["pools"]
    return [launch for pool in pools for launch in launches(server, workspace, pool["name"])]


def worker_processes(sessions: set[str | None]) -> list[int]:
    """The process groups of workers running with these sessions' tokens."""
    found = []
    wanted = {f"COFLUX_SESSION={session}.".encode() for session in sessions if session}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(item.startswith(prefix) for item in environ for prefix in wanted):
            pid = int(entry.name)
            if os.getpgid(pid) == pid:
                found.append(pid)
    return found


def run(server: Server, workspace: str, module: str, target: str, *arguments: Any) -> dict:
    run_id = server.submit(module, target, *arguments, workspace=workspace)
    return server.result(run_id, wait=60)


# --- launching and reusing --------------------------------------------------------------------


def test_auto_launch_worker(server, space):
    create_pool(server, space, modules=[APP])

    result = run(server, space, APP, "hello", "pool")

    assert value_of(result) == "Hello, pool"
    [launch] = launches(server, space)
    assert launch["state"] == "active" and launch["activatedAt"] and launch["sessionId"]
    for worker in (launch["id"], launch["sessionId"]):
        status, shown = cli_json(
            server, "pools", "launches", "local", worker, "-w", space, "-o", "json"
        )
        assert status == 0 and [found["id"] for found in shown["launches"]] == [launch["id"]]
    one = cli(server, "pools", "launches", "local", launch["id"], "-w", space)
    assert one.returncode == 0 and launch["sessionId"] in one.stdout and "active" in one.stdout
    missing = cli(server, "pools", "launches", "local", "Lnone", "-w", space)
    assert missing.returncode == 1 and "launched no worker 'Lnone'" in missing.stderr


def test_multiple_executions(server, space):
    create_pool(server, space, modules=[APP])

    values = [value_of(run(server, space, APP, "nested", n)) for n in range(3)]

    assert values == [15, 25, 35]
    assert len(launches(server, space)) == 1


def test_workflow_with_child_task(server, space):
    create_pool(server, space, fields={"env.CHILD_SEES": "this"})

    result = run(server, space, POOLED, "env_of", "CHILD_SEES")

    assert value_of(result) == "this"
    assert len(launches(server, space)) == 1


def test_error_propagation(server, space):
    create_pool(server, space, modules=[APP])

    result = run(server, space, APP, "failing", "boom")

    assert result["status"] == "failed"
    error = result["result"]["error"]
    assert (error["type"], error["message"]) == ("builtins.ValueError", "boom")


def test_env_reaches_worker(server, space):
    create_pool(server, space, fields={"env": {"POOL_GREETING": "hi"}, "concurrency": 3})

    assert value_of(run(server, space, POOLED, "env_of", "POOL_GREETING")) == "hi"
    assert value_of(run(server, space, POOLED, "env_of", "COFLUX_WORKSPACE")) == space
    assert value_of(run(server, space, POOLED, "env_of", "COFLUX_WORKER_CONCURRENCY")) == "3"
    assert value_of(run(server, space, POOLED, "env_of", "DATABASE_URL")) is None


def test_pool_with_provides(server, space):
    create_pool(server, space, "plain")
    create_pool(server, space, "gpu", provides={"gpu": ["A100"]})

    result = run(server, space, POOLED, "needs_gpu")

    assert value_of(result) == "ran on a gpu worker"
    assert launches(server, space, "gpu")


def test_multiple_modules(server, space):
    create_pool(server, space, modules=[APP, POOLED])

    assert value_of(run(server, space, APP, "hello", "two")) == "Hello, two"
    assert value_of(run(server, space, POOLED, "env_of", "COFLUX_PROJECT")) == "default"
    assert len(launches(server, space)) == 1


# --- the lifecycle ----------------------------------------------------------------------------


def test_an_idle_launched_worker_is_stopped(server, space):
    create_pool(server, space, modules=[APP])
    value_of(run(server, space, APP, "hello", "idle"))
    [launch] = launches(server, space)

    wait_until(lambda: launches(server, space)[0]["state"] == "stopped", timeout=30)

    [stopped] = launches(server, space)
    assert stopped["drainingAt"] and stopped["stoppedAt"] and not stopped["error"]
    assert worker_processes({launch["sessionId"]}) == []


def test_a_disabled_pool_launches_nothing(server, space):
    create_pool(server, space, modules=[APP])
    server.api("POST", f"/workspaces/{space}/pools/local/disable")

    run_id = server.submit(APP, "hello", "later", workspace=space)

    assert server.result(run_id, wait=3)["status"] not in ("succeeded", "failed")
    assert launches(server, space) == []
    server.api("POST", f"/workspaces/{space}/pools/local/enable")
    assert value_of(server.result(run_id, wait=60)) == "Hello, later"


def test_a_dead_launched_worker_is_noticed_and_its_work_retried(server, space, tmp_path):
    create_pool(server, space)
    marker = tmp_path / "first-attempt"
    run_id = server.submit(POOLED, "holding", str(marker), workspace=space)
    wait_until(marker.exists, timeout=60, message="the first attempt to start")
    [first] = launches(server, space)

    for pid in worker_processes({first["sessionId"]}):
        os.killpg(pid, signal.SIGKILL)

    assert value_of(server.result(run_id, wait=90)) == "again"
    states = {launch["id"]: launch["state"] for launch in launches(server, space)}
    assert states[first["id"]] == "dead"
    assert len(states) == 2
