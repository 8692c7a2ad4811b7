"""Several server processes behind one database and the Redis channel layer."""

from __future__ import annotations

import signal

import pytest

from tests.processes import Server, redis_layer

pytestmark = pytest.mark.e2e

APP = "tests.e2e.flows.app"


@pytest.fixture
def pair(tmp_path):
    """Two servers sharing a database and a Redis channel layer; the first orchestrates."""
    first = Server(
        tmp_path / "first",
        **redis_layer(),
        COFLUX_LEASE_SECONDS="3",
    ).start()
    second = Server(
        tmp_path / "second",
        **{
            k: first.env[k]
            for k in (
                "REDIS_URL",
                "COFLUX_CHANNEL_PREFIX",
                "COFLUX_LEASE_SECONDS",
                "COFLUX_DATA_DIR",
            )
        },
    )
    second.env.pop("DATABASE_URL", None)
    if first.database.url:
        second.env["DATABASE_URL"] = first.database.url
    second.start()
    yield first, second
    second.close()
    first.close()


def test_a_run_submitted_to_one_server_runs_on_a_worker_of_another(pair, start_worker):
    first, second = pair
    worker = start_worker(second)
    run_id = first.submit(APP, "nested", 1)
    result = first.result(run_id, wait=30)
    assert result["status"] == "succeeded", (result, worker.output())
    assert result["result"]["value"]["data"] == 25


def test_another_server_takes_over_when_the_orchestrating_one_dies(pair, start_worker):
    first, second = pair
    worker = start_worker(second)
    assert second.result(second.submit(APP, "nested", 1), wait=30)["status"] == "succeeded"
    first.stop(signal.SIGKILL)
    run_id = second.submit(APP, "nested", 2)
    result = second.result(run_id, wait=30)
    assert result["status"] == "succeeded", (result, worker.output())
