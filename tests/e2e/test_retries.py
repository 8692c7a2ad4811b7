"""Retries (SPEC §3.5): failed, abandoned or timed-out attempts are tried again, up to a limit."""

from __future__ import annotations

import json
import signal

import pytest

from tests.e2e.flows.marks import count, wait_for_mark
from tests.e2e.support import attempts, value_of
from tests.processes import cli_json

pytestmark = pytest.mark.e2e

DURABLE = "tests.e2e.flows.durable"
CRASHY = "tests.e2e.flows.crashy"
WORKER_MODULES = (DURABLE,)
WORKER_CONCURRENCY = 16


def test_a_task_failing_twice_succeeds_on_its_third_attempt(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "call_flaky", str(tmp_path), 2)
    assert value_of(server.result(run_id, wait=20)) == 3
    code, run = cli_json(server, "runs", "inspect", "--output", "json", run_id)
    assert code == 0, run
    assert attempts(run, "flaky") == [(1, "failed"), (2, "failed"), (3, "succeeded")]
    assert attempts(run, "call_flaky") == [(1, "succeeded")]


def test_when_the_limit_is_exhausted_the_caller_sees_the_last_error(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "call_flaky", str(tmp_path), 5)
    assert value_of(server.result(run_id, wait=20)) == "caught builtins.RuntimeError: attempt 3"
    assert attempts(server.run(run_id), "flaky") == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert count(tmp_path, "flaky") == 3


def test_an_error_not_matching_when_is_not_retried(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "call_picky", str(tmp_path), "ValueError")
    assert value_of(server.result(run_id, wait=20)) == "caught builtins.ValueError: attempt 1"
    assert attempts(server.run(run_id), "picky") == [(1, "failed")]
    assert count(tmp_path, "picky") == 1


def test_an_error_matching_when_is_retried_with_backoff(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "call_picky", str(tmp_path), "ConnectionError")
    assert value_of(server.result(run_id, wait=20)) == 3
    assert attempts(server.run(run_id), "picky") == [(1, "failed"), (2, "failed"), (3, "succeeded")]


@pytest.mark.parametrize(
    ("kind", "expected", "executions"),
    [
        ("transient", 2, [(1, "failed"), (2, "succeeded")]),
        ("permanent", "caught builtins.RuntimeError: permanent failure", [(1, "failed")]),
    ],
)
def test_a_when_callable_decides_whether_an_error_is_retried(
    server, worker, tmp_path, kind, expected, executions
):
    run_id = server.submit(DURABLE, "call_judged", str(tmp_path), kind)
    assert value_of(server.result(run_id, wait=20)) == expected
    assert attempts(server.run(run_id), "judged") == executions


def test_with_retries_overrides_the_tasks_retries_for_one_call(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "call_unreliable_with_retries", str(tmp_path), 2)
    assert value_of(server.result(run_id, wait=20)) == 3
    assert [state for _, state in attempts(server.run(run_id), "unreliable")] == [
        "failed",
        "failed",
        "succeeded",
    ]


def test_submit_retries_option_retries_the_workflow(server, worker, tmp_path):
    code, output = cli_json(
        server,
        "submit",
        "--retries",
        "2",
        "--output",
        "json",
        f"{DURABLE}/flaky_workflow",
        json.dumps(str(tmp_path)),
        "2",
    )
    assert code == 0, output
    assert output["status"] == "succeeded"
    assert output["value"] == 3
    run = server.run(output["runId"])
    assert [s for _, s in attempts(run, "flaky_workflow")] == ["failed", "failed", "succeeded"]


def test_a_task_whose_worker_is_killed_is_retried_on_another_worker(
    server, worker, tmp_path, start_worker
):
    doomed = start_worker(server, CRASHY, register=False)
    run_id = server.submit(DURABLE, "survives_a_crash", str(tmp_path))
    wait_for_mark(tmp_path, "crash_once", timeout=20)
    doomed.kill(signal.SIGKILL)
    start_worker(server, CRASHY, register=False)
    # The session's grace (COFLUX_SESSION_GRACE, 2 s in tests) passes before it is abandoned.
    assert value_of(server.result(run_id, wait=30)) == 2
    [step] = [s for s in server.run(run_id)["steps"] if s["target"] == "crash_once"]
    first, second = step["executions"]
    assert (first["state"], second["state"]) == ("abandoned", "succeeded")
    assert first["sessionId"] != second["sessionId"]
