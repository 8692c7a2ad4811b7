"""Faults injected while a fan-out runs: the server killed at random moments, the database
connections cut. The run must succeed with every task body run exactly once (ARCHITECTURE
must 1): nothing acknowledged is lost, nothing is abandoned while its worker lives."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.e2e.flows.marks import count
from tests.processes import Server

# A run riding out four restarts on a loaded machine may take longer than the suite's limit;
# its own deadline (below) comes first and says what the server logged.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CHAOS = "tests.e2e.flows.chaos"
TASKS = 300


@pytest.fixture
def server(tmp_path):
    # A worker backing off while the server is down may take longer than the suite's short grace.
    server = Server(tmp_path / "server", COFLUX_SESSION_GRACE="30").start()
    yield server
    server.close()


def result_riding_out_restarts(server: Server, run_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = server.api("GET", f"/runs/{run_id}/result", params={"wait": 5}, timeout=20)
            answer = response.json()
        except (httpx.HTTPError, ValueError):
            time.sleep(0.2)
            continue
        if answer.get("status") not in (None, "queued", "running"):
            return answer
    raise AssertionError(
        f"run {run_id} did not finish; the server logged:\n{server.log.read_text()[-5000:]}"
    )


def ran_once_each(directory: Path) -> list[int]:
    """The tasks whose bodies did not run exactly once."""
    return [i for i in range(TASKS) if count(directory, f"t{i}") != 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_fan_out_survives_its_server_killed_at_random_moments(
    server, tmp_path, start_worker, seed
):
    rng = random.Random(seed)
    worker = start_worker(server, CHAOS, concurrency=8)
    marks = tmp_path / "marks"
    run_id = server.submit(CHAOS, "fan_out", str(marks), TASKS)
    for _ in range(4):
        time.sleep(rng.uniform(0.1, 1.5))
        server.stop(signal.SIGKILL)
        time.sleep(rng.uniform(0, 0.5))
        server.start()
    result = result_riding_out_restarts(server, run_id)
    assert result["status"] == "succeeded", (result, worker.output()[-3000:])
    assert result["result"]["value"]["data"] == sum(range(TASKS))
    assert ran_once_each(marks) == []


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL"), reason="terminating backends is PostgreSQL's"
)
def test_a_fan_out_survives_its_database_connections_cut(server, tmp_path, start_worker):
    worker = start_worker(server, CHAOS, concurrency=8)
    marks = tmp_path / "marks"
    run_id = server.submit(CHAOS, "fan_out", str(marks), TASKS)
    rng = random.Random(7)
    with psycopg.connect(server.database.admin_url, autocommit=True) as admin:
        for _ in range(4):
            time.sleep(rng.uniform(0.2, 1.0))
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [server.database.name],
            )
    result = result_riding_out_restarts(server, run_id)
    assert result["status"] == "succeeded", (result, worker.output()[-3000:])
    assert ran_once_each(marks) == []
