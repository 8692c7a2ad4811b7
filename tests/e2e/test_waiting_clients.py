"""Clients holding long waits do not starve the server of database connections."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.processes import Server, cli

pytestmark = pytest.mark.e2e

APP = "tests.e2e.flows.app"
WAITERS = 12


def test_clients_waiting_for_results_and_logs_leave_connections_for_others(tmp_path):
    # A pool of three connections (used on PostgreSQL): the waits below would exhaust it if
    # each held its connection for as long as it waits.
    server = Server(tmp_path / "server", COFLUX_DB_POOL_SIZE="3").start()
    try:
        cli(server, "manifests", "register", APP, check=True)
        run_id = server.submit(APP, "hello", "nobody runs this")
        with ThreadPoolExecutor(WAITERS) as pool:
            waits = [
                pool.submit(server.result, run_id, 4)
                if i % 2
                else pool.submit(server.api, "GET", f"/runs/{run_id}/logs", params={"wait": 4})
                for i in range(WAITERS)
            ]
            time.sleep(1)
            started = time.monotonic()
            other = server.submit(APP, "hello", "someone else")
            assert server.run(other)["steps"][0]["target"] == "hello"
            assert time.monotonic() - started < 2
            outcomes = [w.result() for w in waits]
        assert [o["status"] for o in outcomes[1::2]] == ["queued"] * (WAITERS // 2)
        assert all(o.status_code == 200 for o in outcomes[::2])
    finally:
        server.close()
