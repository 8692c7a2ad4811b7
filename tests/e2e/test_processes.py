"""``manage.py serve --processes 3``: one port, three server processes on PostgreSQL and Redis.
The process holding the orchestrator is SIGKILLed during a fan-out: another takes over within
5 seconds, the run succeeds, and every task body ran exactly once."""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pytest

from tests.e2e.flows.marks import count
from tests.e2e.test_chaos import result_riding_out_restarts
from tests.processes import Server, redis_layer, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL"), reason="several processes need PostgreSQL"
    ),
]

CHAOS = "tests.e2e.flows.chaos"
TASKS = 500


def lease_holder(server: Server) -> tuple[str, float]:
    """The holder of the project's lease and when its claim lapses (epoch seconds)."""
    with psycopg.connect(server.database.url) as conn:
        row = conn.execute(
            "SELECT holder, extract(epoch FROM expires_at) FROM projects_orchestratorlease"
        ).fetchone()
    return (row[0], float(row[1])) if row else ("", 0.0)


@pytest.fixture
def server(tmp_path):
    server = Server(
        tmp_path / "server",
        **redis_layer(),
        COFLUX_PROCESSES="3",
        COFLUX_SESSION_GRACE="30",
    ).start()
    yield server
    server.close()


def test_orchestration_moves_within_seconds_when_its_process_is_killed(
    server, tmp_path, start_worker
):
    worker = start_worker(server, CHAOS, concurrency=8)
    marks = tmp_path / "marks"
    run_id = server.submit(CHAOS, "fan_out", str(marks), TASKS)
    wait_until(lambda: marks.exists() and any(marks.iterdir()), timeout=30)
    holder, _ = wait_until(lambda: lease_holder(server)[0] and lease_holder(server))
    pid = int(holder.split(":")[1])
    assert pid != server.process.pid, "the supervisor does not orchestrate"

    os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    new_holder, _ = wait_until(
        lambda: (h := lease_holder(server))[0] not in ("", holder) and h, timeout=10
    )
    took_over_after = time.time() - killed_at
    assert took_over_after < 5, took_over_after
    assert int(new_holder.split(":")[1]) != pid

    result = result_riding_out_restarts(server, run_id)
    assert result["status"] == "succeeded", (result, worker.output()[-3000:])
    assert result["result"]["value"]["data"] == sum(range(TASKS))
    assert [i for i in range(TASKS) if count(marks, f"t{i}") != 1] == []


def test_worker_connections_are_spread_over_the_processes(server, start_worker):
    for _ in range(6):
        start_worker(server, CHAOS, register=False)

    def processes_serving_workers() -> set[str]:
        with psycopg.connect(server.database.url) as conn:
            channels = conn.execute(
                "SELECT channel_name FROM projects_workersession WHERE connected"
            ).fetchall()
        # A consumer's channel is named after its process's channel-layer client.
        return {name.partition("!")[0] for (name,) in channels} if len(channels) == 6 else set()

    assert len(wait_until(processes_serving_workers, timeout=30)) >= 2
