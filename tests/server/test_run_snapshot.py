from __future__ import annotations

import pytest
from django.utils import timezone

from projects.models import Project
from runs.models import Dependency, Execution, Result, Step
from runs.submission import submit_run
from runs.values import from_plain_json
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def start(workspace: Workspace) -> Execution:
    return submit_run(workspace, "app.flows", "greet", [from_plain_json("world")])


def add_child(root: Execution, number: int, attempts: int = 1) -> list[Execution]:
    """A task step called by ``root``, with finished attempts that each waited on the root."""
    step = Step.objects.create(
        id=f"{root.step.run_id}:{number}",
        run_id=root.step.run_id,
        number=number,
        module="app.tasks",
        target="child",
        target_type="task",
        parent=root,
        group=1,
        arguments=[from_plain_json(number)],
    )
    executions = []
    for attempt in range(1, attempts + 1):
        execution = Execution.objects.create(
            id=f"{step.id}:{attempt}",
            step=step,
            attempt=attempt,
            workspace=root.workspace,
            state="succeeded",
            completed_at=timezone.now(),
        )
        Result.objects.create(execution=execution, type="value", value=from_plain_json(attempt))
        Dependency.objects.create(execution=execution, dependency=root)
        executions.append(execution)
    return executions


def finish(execution: Execution, **result) -> None:
    Execution.objects.filter(pk=execution.pk).update(
        state={"value": "succeeded", "error": "failed"}.get(result["type"], result["type"]),
        completed_at=timezone.now(),
    )
    Result.objects.create(execution=execution, **result)


def test_it_shows_a_queued_run(api, registered):
    root = start(registered)
    run_id = root.step.run_id

    snapshot = api.get(f"/api/projects/default/runs/{run_id}").json()

    assert snapshot["id"] == run_id
    assert snapshot["workspace"] == "default"
    assert snapshot["status"] == "queued"
    assert snapshot["result"] is None
    assert snapshot["created_at"]
    [step] = snapshot["steps"]
    assert step == {
        "id": f"{run_id}:1",
        "number": 1,
        "module": "app.flows",
        "target": "greet",
        "type": "workflow",
        "parent": None,
        "group": None,
        "group_name": None,
        "arguments": [from_plain_json("world")],
        "created_at": step["created_at"],
        "executions": [
            {
                "id": f"{run_id}:1:1",
                "attempt": 1,
                "state": "queued",
                "workspace": "default",
                "session": None,
                "created_at": step["executions"][0]["created_at"],
                "assigned_at": None,
                "started_at": None,
                "completed_at": None,
                "result": None,
                "dependencies": [],
            }
        ],
    }


def test_it_shows_children_attempts_results_and_dependencies(api, registered):
    root = start(registered)
    add_child(root, 2, attempts=2)
    finish(root, type="value", value=from_plain_json("hello"))

    snapshot = api.get(f"/api/projects/default/runs/{root.step.run_id}").json()

    assert snapshot["status"] == "succeeded"
    assert snapshot["result"] == {"type": "value", "value": from_plain_json("hello")}
    child = snapshot["steps"][1]
    assert (child["number"], child["type"], child["parent"], child["group"]) == (
        2,
        "task",
        root.id,
        1,
    )
    assert [e["attempt"] for e in child["executions"]] == [1, 2]
    assert child["executions"][1]["result"] == {"type": "value", "value": from_plain_json(2)}
    assert child["executions"][0]["dependencies"] == [root.id]


def test_it_reports_a_failed_run_with_its_error(api, registered):
    root = start(registered)
    finish(
        root,
        type="error",
        error_type="builtins.ValueError",
        error_message="bad",
        error_frames=[{"file": "f.py", "line": 1, "name": "greet", "code": "raise"}],
        retryable=False,
    )

    snapshot = api.get(f"/api/projects/default/runs/{root.step.run_id}").json()

    assert snapshot["status"] == "failed"
    assert snapshot["result"]["error"]["type"] == "builtins.ValueError"
    assert snapshot["result"]["error"]["message"] == "bad"


def test_it_takes_the_status_from_the_latest_attempt_of_the_root(api, registered):
    root = start(registered)
    finish(root, type="abandoned")
    Execution.objects.create(
        id=f"{root.step_id}:2", step=root.step, attempt=2, workspace=registered, state="assigned"
    )

    snapshot = api.get(f"/api/projects/default/runs/{root.step.run_id}").json()

    assert snapshot["status"] == "running"
    assert snapshot["result"] is None


def test_it_fetches_a_snapshot_in_a_fixed_number_of_queries(
    api, registered, django_assert_num_queries
):
    small = start(registered)
    large = start(registered)
    for number in range(2, 22):
        add_child(large, number, attempts=3)

    with django_assert_num_queries(5):
        api.get(f"/api/projects/default/runs/{small.step.run_id}")
    with django_assert_num_queries(5):
        snapshot = api.get(f"/api/projects/default/runs/{large.step.run_id}").json()
    assert len(snapshot["steps"]) == 21


def test_it_reports_an_unknown_run(api, registered):
    response = api.get("/api/projects/default/runs/Rnothing")

    assert response.status_code == 404
    assert response.json()["error"] == "run_not_found"


def test_it_does_not_show_runs_of_other_projects(api, registered):
    root = start(registered)
    Project.objects.ensure("other")

    response = api.get(f"/api/projects/other/runs/{root.step.run_id}")

    assert response.status_code == 404
    assert response.json()["error"] == "run_not_found"
