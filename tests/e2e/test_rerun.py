"""Re-runs (SPEC §3.12): ``coflux runs rerun RUN:STEP`` makes the step's next attempt."""

from __future__ import annotations

import pytest

from tests.e2e.support import value_of
from tests.processes import cli_json, wait_until

pytestmark = pytest.mark.e2e

DURABLE = "tests.e2e.flows.durable"
WORKER_MODULES = (DURABLE,)
WORKER_CONCURRENCY = 16
UNFINISHED = ("queued", "assigned")


def outcomes(run, number):
    """``(attempt, state, value)`` of each execution of step ``number``."""
    [step] = [step for step in run["steps"] if step["number"] == number]
    return [
        (e["attempt"], e["state"], (e["result"] or {}).get("value", {}).get("data"))
        for e in step["executions"]
    ]


def rerun(server, step_id, *options):
    code, output = cli_json(server, "runs", "rerun", *options, "--output", "json", step_id)
    assert code == 0, output
    return output


def test_rerunning_a_step_makes_its_second_attempt_with_a_new_result(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "counted", str(tmp_path))
    assert value_of(server.result(run_id, wait=20)) == 1
    output = rerun(server, f"{run_id}:2")
    assert (output["executionId"], output["status"], output["value"]) == (
        f"{run_id}:2:2",
        "succeeded",
        2,
    )
    assert outcomes(server.run(run_id), 2) == [(1, "succeeded", 1), (2, "succeeded", 2)]
    # The root step did not run again, so the run's result is still the first one.
    assert value_of(server.result(run_id)) == 1


def test_rerun_without_waiting_reports_the_new_attempt(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "counted", str(tmp_path))
    value_of(server.result(run_id, wait=20))
    output = rerun(server, f"{run_id}:2", "--no-wait")
    assert (output["executionId"], output["attempt"]) == (f"{run_id}:2:2", 2)

    def finished():
        found = outcomes(server.run(run_id), 2)
        return found if all(state not in UNFINISHED for _, state, _ in found) else None

    assert wait_until(finished, timeout=20) == [(1, "succeeded", 1), (2, "succeeded", 2)]


def test_rerunning_the_root_changes_the_runs_result(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "counted", str(tmp_path))
    assert value_of(server.result(run_id, wait=20)) == 1
    assert rerun(server, f"{run_id}:1")["value"] == 2
    assert value_of(server.result(run_id)) == 2
    assert outcomes(server.run(run_id), 1) == [(1, "succeeded", 1), (2, "succeeded", 2)]
