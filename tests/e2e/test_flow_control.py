"""Waiting and scheduling (SPEC §3.6, §3.9, §3.13): select, poll, wait dependencies, delay,
defer, suspend and suspense, and tasks that start workflows."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.flows.marks import count
from tests.e2e.support import executions, states, value_of
from tests.processes import cli_json

pytestmark = pytest.mark.e2e

DURABLE = "tests.e2e.flows.durable"
WAITING = "tests.e2e.flows.waiting"
WORKER_MODULES = (WAITING, DURABLE)
WORKER_CONCURRENCY = 16


def run_value(server, target, *arguments):
    run_id = server.submit(WAITING, target, *arguments)
    return run_id, value_of(server.result(run_id, wait=20))


def seconds_between(start, end):
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def waited_to_start(execution):
    """Seconds from the execution's creation to its assignment to a worker."""
    return seconds_between(execution["createdAt"], execution["assignedAt"])


# --- select -------------------------------------------------------------------------------


def test_select_returns_the_first_to_finish_and_cancels_the_rest(server, worker, tmp_path):
    run_id, (winner, remaining) = run_value(server, "race", str(tmp_path))
    assert winner == "fast"
    run = server.run(run_id)
    [slow] = executions(run, "long_nap")
    assert remaining == [slow["id"]]
    assert slow["state"] == "cancelled"


# --- poll ---------------------------------------------------------------------------------


def test_poll_returns_the_default_while_pending(server, worker, tmp_path):
    assert run_value(server, "polls_pending", str(tmp_path))[1] == "pending"


def test_poll_returns_the_value_once_ready(server, worker):
    assert run_value(server, "polls_until_ready")[1] == "ready"


def test_poll_with_a_timeout_waits_then_returns_the_default(server, worker, tmp_path):
    seen, waited = run_value(server, "polls_with_a_timeout", str(tmp_path))[1]
    assert seen == "late"
    assert waited >= 0.45


def test_poll_with_a_timeout_returns_the_value_as_soon_as_ready(server, worker):
    seen, waited = run_value(server, "polls_with_a_timeout_until_ready")[1]
    assert seen == "soon"
    assert waited < 5


# --- wait dependencies --------------------------------------------------------------------


def test_wait_true_starts_the_consumer_after_its_producer_finished(server, worker):
    run_id, value = run_value(server, "waits_for_its_argument")
    assert value == "made"
    run = server.run(run_id)
    [producer], [consumer] = executions(run, "produce"), executions(run, "consume")
    assert seconds_between(producer["completedAt"], consumer["assignedAt"]) >= 0


def test_wait_for_a_named_parameter_does_not_wait_for_the_others(server, worker, tmp_path):
    _, value = run_value(server, "waits_for_the_named_argument", str(tmp_path))
    assert value == ["made", "not ready"]


# --- delay and defer ----------------------------------------------------------------------


def test_a_delayed_task_starts_no_sooner_than_its_delay(server, worker):
    run_id, value = run_value(server, "calls_delayed")
    assert value == "late"
    [execution] = executions(server.run(run_id), "delayed")
    assert waited_to_start(execution) >= 0.5


def test_with_delay_delays_one_call(server, worker):
    run_id, value = run_value(server, "calls_with_a_delay")
    assert value == "late"
    [execution] = executions(server.run(run_id), "echo")
    assert waited_to_start(execution) >= 0.5


def test_submit_delay_option_delays_the_run(server, worker):
    code, output = cli_json(
        server, "submit", "--delay", "0.5", "--output", "json", f"{WAITING}/echo_workflow", '"x"'
    )
    assert code == 0, output
    assert output["value"] == "x"
    [execution] = executions(server.run(output["runId"]), "echo_workflow")
    assert waited_to_start(execution) >= 0.5


def test_a_debounced_task_runs_once_with_the_last_arguments(server, worker, tmp_path):
    run_id, value = run_value(server, "debounces", str(tmp_path))
    assert value == [4, 4, 4, 4, 4]
    assert count(tmp_path, "debounced") == 1
    assert sorted(states(server.run(run_id), "debounced")) == ["deferred"] * 4 + ["succeeded"]


# --- suspend and suspense -----------------------------------------------------------------


def test_suspend_resumes_as_the_next_attempt_after_the_delay(server, worker, tmp_path):
    run_id, (attempt, since_suspended) = run_value(server, "calls_suspends", str(tmp_path), 1, 0.3)
    assert attempt == 2
    assert states(server.run(run_id), "suspends") == ["suspended", "succeeded"]
    assert since_suspended >= 0.3 - 0.002  # the resumption time travels in whole milliseconds


def test_suspending_twice_succeeds_on_the_third_attempt(server, worker, tmp_path):
    run_id, (attempt, _) = run_value(server, "calls_suspends", str(tmp_path), 2, 0.05)
    assert attempt == 3
    assert states(server.run(run_id), "suspends") == ["suspended", "suspended", "succeeded"]


def test_suspense_suspends_until_the_child_is_done_without_running_it_again(
    server, worker, tmp_path
):
    run_id, value = run_value(server, "suspends_for_its_child", str(tmp_path))
    assert value == "child done"
    run = server.run(run_id)
    assert states(run, "suspends_for_its_child") == ["suspended", "succeeded"]
    assert states(run, "memoised_child") == ["succeeded"]
    assert (count(tmp_path, "parent"), count(tmp_path, "memoised_child")) == (2, 1)
    [child] = executions(run, "memoised_child")
    resumed = executions(run, "suspends_for_its_child")[1]
    assert seconds_between(child["completedAt"], resumed["assignedAt"]) >= 0


# --- spawned runs -------------------------------------------------------------------------


def test_a_task_calling_a_workflow_gets_the_value_of_the_spawned_run(server, worker):
    run_id = server.submit(DURABLE, "spawns", 20)
    assert value_of(server.result(run_id, wait=20)) == 41
    run = server.run(run_id)
    [spawned] = executions(run, "doubled")
    assert spawned["state"] == "spawned"
    child_id = spawned["result"]["successorId"].split(":")[0]
    assert child_id != run_id
    child = server.run(child_id)
    assert child["parentId"] == spawned["id"]
    assert states(child, "doubled") == ["succeeded"]
    assert value_of(server.result(child_id)) == 40


# --- groups -------------------------------------------------------------------------------


def test_calls_in_a_group_are_recorded_with_its_id_and_name(server, worker):
    run_id, value = run_value(server, "grouped")
    assert value == [0, 1, 2, "alone"]
    steps = [step for step in server.run(run_id)["steps"] if step["target"] == "echo"]
    assert [(step["group"], step["groupName"]) for step in steps] == [
        (1, "batch"),
        (1, "batch"),
        (1, "batch"),
        (None, None),
    ]
