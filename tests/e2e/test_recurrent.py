"""Recurrence (SPEC §3.8): a recurrent target returning None runs again, until a value or an
error."""

from __future__ import annotations

import pytest

from tests.e2e.support import executions, states, value_of

pytestmark = pytest.mark.e2e

DURABLE = "tests.e2e.flows.durable"
WORKER_MODULES = (DURABLE,)
WORKER_CONCURRENCY = 16


def test_a_recurrent_task_runs_again_until_it_returns_a_value(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "call_recurs", str(tmp_path), 2)
    assert value_of(server.result(run_id, wait=20)) == 3
    attempts = executions(server.run(run_id), "recurs")
    assert [e["state"] for e in attempts] == ["recurred", "recurred", "succeeded"]
    assert [e["attempt"] for e in attempts] == [1, 2, 3]
    assert len({e["id"] for e in attempts}) == 3


def test_a_recurrent_workflow_runs_again_until_it_returns_a_value(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "recurring_workflow", str(tmp_path), 2)
    assert value_of(server.result(run_id, wait=20)) == 3
    assert states(server.run(run_id), "recurring_workflow") == [
        "recurred",
        "recurred",
        "succeeded",
    ]


def test_a_recurrent_workflow_stops_on_an_error(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "recurs_until_it_fails", str(tmp_path))
    result = server.result(run_id, wait=20)
    assert result["status"] == "failed", result
    assert result["result"]["error"]["message"] == "stopped"
    assert states(server.run(run_id), "recurs_until_it_fails") == ["recurred", "failed"]
