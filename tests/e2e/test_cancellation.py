"""Cancellation (SPEC §3.11): from a workflow or the CLI, through descendants and spawned runs."""

from __future__ import annotations

import pytest

from tests.e2e.flows.marks import wait_for_mark
from tests.e2e.support import value_of
from tests.processes import cli

pytestmark = pytest.mark.e2e

DURABLE = "tests.e2e.flows.durable"
WORKER_MODULES = (DURABLE,)
WORKER_CONCURRENCY = 16


def states(run):
    """``{target: [state of each execution]}``, over every step of the run."""
    found: dict[str, list[str]] = {}
    for step in run["steps"]:
        found.setdefault(step["target"], []).extend(e["state"] for e in step["executions"])
    return found


def spawned_run_id(run, target):
    """The ID of the run spawned by the run's call of the workflow ``target``."""
    [step] = [step for step in run["steps"] if step["target"] == target]
    [execution] = step["executions"]
    assert execution["state"] == "spawned", execution
    return execution["result"]["successorId"].split(":")[0]


def test_a_workflow_can_cancel_an_execution_it_started(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "cancels_its_child", str(tmp_path))
    assert value_of(server.result(run_id, wait=20)) == "cancelled"
    assert states(server.run(run_id)) == {
        "cancels_its_child": ["succeeded"],
        "long_nap": ["cancelled"],
    }


def test_cf_cancel_cancels_several_executions(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "cancels_both", str(tmp_path))
    assert value_of(server.result(run_id, wait=20)) == ["cancelled", "cancelled"]
    assert states(server.run(run_id))["long_nap"] == ["cancelled", "cancelled"]


def test_cancelling_a_run_from_the_cli_cancels_all_its_descendants(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "tree", str(tmp_path))
    wait_for_mark(tmp_path, "leaf-started", timeout=20)
    process = cli(server, "runs", "cancel", f"{run_id}:1:1")
    assert process.returncode == 0, process.stderr
    assert server.result(run_id, wait=20)["status"] == "cancelled"
    assert states(server.run(run_id)) == {
        "tree": ["cancelled"],
        "branch": ["cancelled"],
        "long_nap": ["cancelled"],
    }


def test_the_caller_of_a_cancelled_execution_gets_execution_cancelled(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "survives_a_cancelled_branch", str(tmp_path))
    wait_for_mark(tmp_path, "leaf-started", timeout=20)
    [branch] = [step for step in server.run(run_id)["steps"] if step["target"] == "branch"]
    process = cli(server, "runs", "cancel", branch["executions"][0]["id"])
    assert process.returncode == 0, process.stderr
    assert value_of(server.result(run_id, wait=20)) == "branch cancelled"
    assert states(server.run(run_id)) == {
        "survives_a_cancelled_branch": ["succeeded"],
        "branch": ["cancelled"],
        "long_nap": ["cancelled"],
    }


def test_cancelling_a_run_cancels_the_runs_it_spawned(server, worker, tmp_path):
    run_id = server.submit(DURABLE, "outer", str(tmp_path))
    wait_for_mark(tmp_path, "spawned-started", timeout=20)
    child_id = spawned_run_id(server.run(run_id), "inner")
    process = cli(server, "runs", "cancel", f"{run_id}:1:1")
    assert process.returncode == 0, process.stderr
    assert server.result(run_id, wait=20)["status"] == "cancelled"
    assert server.result(child_id, wait=20)["status"] == "cancelled"
    assert states(server.run(child_id)) == {"inner": ["cancelled"], "long_nap": ["cancelled"]}
    assert states(server.run(run_id)) == {
        "outer": ["cancelled"],
        "calls_inner": ["cancelled"],
        "inner": ["spawned"],
    }


def test_cancelling_a_finished_execution_changes_nothing(server, worker):
    run_id = server.submit(DURABLE, "doubled", 4)
    assert value_of(server.result(run_id, wait=20)) == 8
    cli(server, "runs", "cancel", f"{run_id}:1:1")
    assert value_of(server.result(run_id)) == 8
    assert states(server.run(run_id)) == {"doubled": ["succeeded"]}
