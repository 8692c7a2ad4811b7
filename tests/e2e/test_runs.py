"""Workflows run end to end: real server, real worker processes, real websockets."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.support import value_of
from tests.processes import cli, cli_json

pytestmark = pytest.mark.e2e

APP = "tests.e2e.flows.app"


def test_it_runs_the_hello_workflow_from_the_cli(server, worker):
    code, output = cli_json(server, "submit", "--output", "json", f"{APP}/hello", '"Joe"')
    assert code == 0, output
    assert output["status"] == "succeeded"
    assert output["value"] == "Hello, Joe"


def test_a_submission_can_wait_for_its_outcome_in_the_same_request(server, worker):
    response = server.api(
        "POST",
        "/workspaces/default/runs",
        params={"wait": 30},
        json={"module": APP, "target": "hello", "arguments": ["Bo"]},
    )
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["runId"] and answer["executionId"] == f"{answer['runId']}:1:1"
    assert answer["status"] == "succeeded"
    assert answer["result"]["value"]["data"] == "Hello, Bo"


def test_it_records_every_step_with_its_timings(server, worker):
    run_id = server.submit(APP, "hello", "Ann")
    assert value_of(server.result(run_id)) == "Hello, Ann"
    run = server.run(run_id)
    assert [(s["target"], s["type"]) for s in run["steps"]] == [
        ("hello", "workflow"),
        ("greet", "task"),
    ]
    child = run["steps"][1]
    assert child["parentId"] == f"{run_id}:1:1"
    [execution] = child["executions"]
    assert execution["state"] == "succeeded"
    times = [execution[k] for k in ("createdAt", "assignedAt", "startedAt", "completedAt")]
    assert all(times) and times == sorted(times, key=datetime.fromisoformat)
    assert run["steps"][0]["executions"][0]["dependencies"] == [execution["id"]]


def test_it_runs_tasks_nested_three_deep(server, worker):
    run_id = server.submit(APP, "nested", 4)
    assert value_of(server.result(run_id)) == 55
    assert len(server.run(run_id)["steps"]) == 4


def test_submitted_tasks_run_in_parallel(server, worker):
    run_id = server.submit(APP, "parallel_naps", 1.0)
    assert value_of(server.result(run_id)) == 2.0
    root = server.run(run_id)["steps"][0]["executions"][0]
    took = datetime.fromisoformat(root["completedAt"]) - datetime.fromisoformat(root["startedAt"])
    assert took.total_seconds() < 1.8


def test_a_raising_task_fails_the_run_with_its_type_and_message(server, worker):
    run_id = server.submit(APP, "failing", "broken")
    result = server.result(run_id)
    assert result["status"] == "failed"
    error = result["result"]["error"]
    assert (error["type"], error["message"]) == ("builtins.ValueError", "broken")
    assert any(frame["name"] == "fail" for frame in error["frames"])
    code, output = cli_json(server, "runs", "result", "--output", "json", run_id)
    assert code == 1
    assert output["status"] == "failed"
    assert output["error"] == {"type": "builtins.ValueError", "message": "broken"}


def test_the_caller_can_catch_a_childs_error_by_its_type(server, worker):
    run_id = server.submit(APP, "catching", "oops")
    assert value_of(server.result(run_id)).startswith("caught")
    assert "oops" in value_of(server.result(run_id))


def test_a_stub_resolves_to_the_task_of_another_module(server, worker):
    run_id = server.submit(APP, "via_stub", 21)
    assert value_of(server.result(run_id)) == 42
    assert server.run(run_id)["steps"][1]["module"] == "tests.e2e.flows.doubler"


def test_async_workflows_and_tasks_run(server, worker):
    assert value_of(server.result(server.submit(APP, "async_flow", 1))) == 2


def test_executions_can_be_returned_and_passed_as_arguments(server, worker):
    assert value_of(server.result(server.submit(APP, "pass_handles", 1))) == 4


def test_targets_are_found_by_their_registered_name(server, worker):
    run_id = server.submit(APP, "calls_renamed")
    assert value_of(server.result(run_id)) == "found by its registered name"
    assert server.run(run_id)["steps"][1]["target"] == "renamed_task"


def test_output_of_an_execution_is_kept_as_its_log(server, worker):
    run_id = server.submit(APP, "hello", "Logged")
    value_of(server.result(run_id))
    logs = server.api("GET", f"/runs/{run_id}/logs").json()["logs"]
    assert [(log["executionId"], log["level"], log["template"]) for log in logs] == [
        (f"{run_id}:2:1", 1, "greeting Logged")
    ]


def test_runs_inspect_shows_the_steps(server, worker):
    run_id = server.submit(APP, "nested", 1)
    value_of(server.result(run_id))
    code, output = cli_json(server, "runs", "inspect", "--output", "json", run_id)
    assert code == 0
    assert [s["target"] for s in output["steps"]] == ["nested", "upper", "middle", "leaf"]


def test_unknown_targets_and_bad_arguments_get_clear_errors(server, worker):
    response = server.api(
        "POST", "/workspaces/default/runs", json={"module": APP, "target": "nope", "arguments": []}
    )
    assert response.status_code == 404
    assert "nope" in response.json()["message"]
    response = server.api(
        "POST",
        "/workspaces/default/runs",
        json={"module": APP, "target": "hello", "arguments": [1, 2, 3]},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_arguments"
    process = cli(server, "submit", f"{APP}/hello", "{not json")
    assert process.returncode != 0
    assert "JSON" in process.stderr or "json" in process.stderr
