"""A worker welcomed again on its live connection re-sends what the server lost: here the
orchestrating server dies with a result taken in but not committed, and the server the worker
is connected to takes over."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.e2e.flows.marks import mark, wait_for_mark
from tests.e2e.test_several_servers import pair  # noqa: F401 (a fixture)
from tests.processes import Server

pytestmark = pytest.mark.e2e

FLOWS = "tests.e2e.flows.failure_model"


@contextlib.contextmanager
def writes_blocked(server: Server) -> Iterator[None]:
    """Hold the database so that a tick waits (in its transaction) until the block ends."""
    if server.database.url:
        with psycopg.connect(server.database.url) as connection:
            connection.execute("LOCK TABLE projects_orchestratorlease IN ACCESS EXCLUSIVE MODE")
            yield
            connection.rollback()
    else:
        connection = sqlite3.connect(server.data_dir / "coflux.sqlite3", isolation_level=None)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()


def test_a_result_the_dead_orchestrator_took_in_is_sent_again_to_the_next(
    pair,  # noqa: F811
    start_worker,
    tmp_path,
):
    first, second = pair
    worker = start_worker(second, FLOWS)
    run_id = second.submit(FLOWS, "waits_for_go", str(tmp_path))
    wait_for_mark(tmp_path, "started", timeout=30)

    with writes_blocked(first):
        mark(tmp_path, "go")
        # The result reaches the first server's orchestrator, whose tick then waits for the
        # database; it dies before committing.
        time.sleep(1.5)
        first.stop(signal.SIGKILL)

    result = second.result(run_id, wait=60)
    assert result["status"] == "succeeded", (result, worker.output())
    assert result["result"]["value"]["data"] == "done"
    assert "welcomed again" in worker.output()
