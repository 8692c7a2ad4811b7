from __future__ import annotations

import pytest
from django.utils import timezone

from projects.models import Project
from runs.models import Dependency, Execution, Result, Step
from runs.submission import submit_run
from runs.values import from_plain_json
from tests.sample_targets import GREET
from workspaces.manifests import parse_manifests, register_manifests
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
    assert snapshot["createdAt"]
    [step] = snapshot["steps"]
    assert step == {
        "id": f"{run_id}:1",
        "number": 1,
        "module": "app.flows",
        "target": "greet",
        "type": "workflow",
        "parentId": None,
        "group": None,
        "groupName": None,
        "arguments": [from_plain_json("world")],
        "createdAt": step["createdAt"],
        "cacheKey": None,
        "memoKey": None,
        "resolution": None,
        "cachedFrom": None,
        "memoHits": [],
        "executions": [
            {
                "id": f"{run_id}:1:1",
                "attempt": 1,
                "state": "queued",
                "workspace": "default",
                "sessionId": None,
                "createdAt": step["executions"][0]["createdAt"],
                "assignedAt": None,
                "startedAt": None,
                "completedAt": None,
                "result": None,
                "cachedFrom": None,
                "memoHits": [],
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
    assert (child["number"], child["type"], child["parentId"], child["group"]) == (
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


# --- how steps were resolved: executed, cached, memoised -------------------------------------


def cache_hit(root: Execution, number: int, source: Execution, workspace: Workspace) -> Execution:
    """A step of ``root``'s run whose only attempt reused ``source``'s result from the cache."""
    step = Step.objects.create(
        id=f"{root.step.run_id}:{number}",
        run_id=root.step.run_id,
        number=number,
        module="app.tasks",
        target="child",
        target_type="task",
        parent=root,
        cache_key="k" * 64,
    )
    execution = Execution.objects.create(
        id=f"{step.id}:1", step=step, workspace=workspace, state="cached"
    )
    Result.objects.create(execution=execution, type="cached", successor=source)
    return execution


def assigned(*executions: Execution) -> None:
    Execution.objects.filter(pk__in=[e.pk for e in executions]).update(assigned_at=timezone.now())


@pytest.fixture
def development(registered: Workspace) -> Workspace:
    created = Workspace.objects.create(
        project=registered.project, name="development", base=registered
    )
    register_manifests(created, parse_manifests({"modules": {"app.flows": [GREET]}}))
    return created


def test_it_says_which_run_and_workspace_a_cached_step_came_from(api, registered, development):
    production_root = start(registered)
    [source] = add_child(production_root, 2)
    assigned(source)
    Step.objects.filter(pk=source.step_id).update(cache_key="k" * 64)
    root = start(development)
    hit = cache_hit(root, 2, source, development)

    snapshot = api.get(f"/api/projects/default/runs/{root.step.run_id}").json()

    step = snapshot["steps"][1]
    expected = {
        "executionId": source.id,
        "runId": production_root.step.run_id,
        "workspace": "default",
    }
    assert (step["resolution"], step["cachedFrom"], step["cacheKey"]) == (
        "cached",
        expected,
        "k" * 64,
    )
    assert step["executions"][0]["cachedFrom"] == expected
    assert step["executions"][0]["result"] == {"type": "cached", "successorId": source.id}
    assert hit.id == step["executions"][0]["id"]
    source_step = api.get(f"/api/projects/default/runs/{production_root.step.run_id}").json()
    assert source_step["steps"][1]["resolution"] == "executed"


def test_it_follows_a_hit_on_a_hit_to_the_source(api, registered, development):
    production_root = start(registered)
    [source] = add_child(production_root, 2)
    linked = cache_hit(start(registered), 2, source, registered)
    root = start(development)
    cache_hit(root, 2, linked, development)

    snapshot = api.get(f"/api/projects/default/runs/{root.step.run_id}").json()

    assert snapshot["steps"][1]["cachedFrom"] == {
        "executionId": source.id,
        "runId": production_root.step.run_id,
        "workspace": "default",
    }


def test_it_lists_the_memoised_calls_that_reused_a_step(api, registered, development):
    root = start(registered)
    [extract] = add_child(root, 2)
    Step.objects.filter(pk=extract.step_id).update(memo_key="m" * 64)
    rerun = Execution.objects.create(
        id=f"{root.step_id}:2", step=root.step, attempt=2, workspace=development, state="assigned"
    )
    Dependency.objects.create(execution=rerun, dependency=extract, memo_hit=True)

    snapshot = api.get(f"/api/projects/default/runs/{root.step.run_id}").json()

    step = snapshot["steps"][1]
    assert (step["resolution"], step["memoKey"], step["memoHits"]) == (
        "memoised",
        "m" * 64,
        [rerun.id],
    )
    assert step["executions"][0]["memoHits"] == [rerun.id]
    assert step["cachedFrom"] is None
    assert snapshot["steps"][0]["memoHits"] == []
    assert snapshot["steps"][0]["executions"][1]["dependencies"] == [extract.id]


def test_cache_and_memo_hits_take_no_extra_queries(
    api, registered, development, django_assert_num_queries
):
    production_root = start(registered)
    sources = [add_child(production_root, number)[0] for number in range(2, 12)]
    root = start(development)
    for number, source in enumerate(sources, start=2):
        hit = cache_hit(root, number, source, development)
        Dependency.objects.create(execution=root, dependency=hit, memo_hit=True)

    with django_assert_num_queries(5):
        snapshot = api.get(f"/api/projects/default/runs/{root.step.run_id}").json()

    assert [s["resolution"] for s in snapshot["steps"][1:]] == ["cached"] * 10
    assert snapshot["steps"][1]["memoHits"] == [root.id]
