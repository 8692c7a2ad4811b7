"""Timeouts (SPEC §3.7): an attempt running too long is killed, its descendants cancelled."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.support import executions, states, value_of
from tests.processes import wait_until

pytestmark = pytest.mark.e2e

DURABLE = "tests.e2e.flows.durable"
WORKER_MODULES = (DURABLE,)
WORKER_CONCURRENCY = 16


def seconds(execution, since="startedAt", until="completedAt"):
    start, end = (datetime.fromisoformat(execution[key]) for key in (since, until))
    return (end - start).total_seconds()


@pytest.fixture(scope="module")
def timed_out_run(server, worker, tmp_path_factory):
    """A run whose task sleeps 10 s under ``timeout=1`` after starting a long child."""
    directory = tmp_path_factory.mktemp("timed_out")
    run_id = server.submit(DURABLE, "catches_a_timeout", str(directory))
    return run_id, server.result(run_id, wait=20)


def test_a_task_over_its_timeout_raises_execution_timeout_in_the_caller(server, timed_out_run):
    run_id, result = timed_out_run
    assert value_of(result) == "timed out"
    [execution] = executions(server.run(run_id), "outlives_its_timeout")
    assert execution["state"] == "timed_out"
    assert execution["result"]["type"] == "timeout"
    assert seconds(execution) < 5


def test_a_timed_out_tasks_children_are_cancelled(server, timed_out_run):
    run_id, _ = timed_out_run

    def child_state():
        return states(server.run(run_id), "long_nap") == ["cancelled"]

    wait_until(child_state, timeout=10, message="the timed-out task's child cancelled")


def test_a_timed_out_attempt_is_retried(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "call_slow_then_fast", str(tmp_path))
    assert value_of(server.result(run_id, wait=20)) == 2
    assert states(server.run(run_id), "slow_then_fast") == ["timed_out", "succeeded"]


def test_with_timeout_limits_one_call(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "naps_with_a_timeout", str(tmp_path))
    assert value_of(server.result(run_id, wait=20)) == "timed out"
    [execution] = executions(server.run(run_id), "long_nap")
    assert execution["state"] == "timed_out"
    assert seconds(execution) < 5


def test_a_workflow_over_its_timeout_times_the_run_out(server, worker):
    run_id = server.submit(DURABLE, "slow_workflow")
    result = server.result(run_id, wait=20)
    assert result["status"] == "timeout", result
    assert result["result"]["type"] == "timeout"
    assert states(server.run(run_id), "slow_workflow") == ["timed_out"]
