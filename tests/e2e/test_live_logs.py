"""Log lines reach the server while their execution runs, and survive its cancellation and
the death of its worker (up to the last flush interval)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.flows.marks import count, wait_for_mark
from tests.processes import wait_until

pytestmark = pytest.mark.e2e

FLOWS = "tests.e2e.flows.failure_model"
WORKER_MODULES = (FLOWS,)
SETTLE = 0.5
"""Seconds after a line is printed by when it has reached the server: the executor's flush
interval (0.05 s) and the worker's linger (0.05 s), with room for a loaded machine."""


def lines(server, run_id: str) -> list[str]:
    response = server.api("GET", f"/runs/{run_id}/logs")
    assert response.status_code == 200, response.text
    return [line["template"] for line in response.json()["logs"]]


def test_a_line_is_readable_before_the_next_is_written(server, worker, tmp_path):
    run_id = server.submit(FLOWS, "slow_logger", str(tmp_path), 5, 1.0)

    wait_until(lambda: "line 2" in lines(server, run_id), timeout=30, message="line 2")

    assert count(tmp_path, "line-3") == 0, "line 2 arrived only after line 3 was written"
    assert lines(server, run_id) == ["line 0", "line 1", "line 2"]
    assert server.result(run_id)["status"] == "succeeded"
    assert lines(server, run_id) == [f"line {n}" for n in range(5)]


def test_a_cancelled_run_keeps_the_lines_it_printed(server, worker, tmp_path):
    run_id = server.submit(FLOWS, "slow_logger", str(tmp_path), 5, 1.0)
    wait_for_mark(tmp_path, "line-2", timeout=30)
    time.sleep(SETTLE)

    response = server.api("POST", f"/executions/{run_id}:1:1/cancel", json={})

    assert response.status_code == 200, response.text
    assert server.result(run_id, wait=20)["status"] == "cancelled"
    kept = lines(server, run_id)
    assert kept[:3] == ["line 0", "line 1", "line 2"]
    assert len(kept) <= 4


def test_lines_survive_the_worker_being_killed(server, start_worker, tmp_path):
    # A workspace of its own, so that no other worker takes the run.
    worker = start_worker(server, FLOWS, workspace="doomed")
    run_id = server.submit(FLOWS, "slow_logger", str(tmp_path), 5, 1.0, workspace="doomed")
    wait_for_mark(tmp_path, "line-2", timeout=30)
    time.sleep(SETTLE)

    worker.kill()

    expected = ["line 0", "line 1", "line 2"]
    wait_until(lambda: lines(server, run_id)[:3] == expected, timeout=10, message="lines 0-2")
    assert len(lines(server, run_id)) <= 4
