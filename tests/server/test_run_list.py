from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Execution, Result, Run
from runs.submission import submit_run
from runs.values import from_plain_json
from tests.sample_targets import GREET
from workspaces.manifests import parse_manifests, register_manifests

pytestmark = pytest.mark.django_db

URL = "/api/projects/default/workspaces/default/runs"


def test_it_lists_the_latest_runs_newest_first(api, registered):
    older = submit_run(registered, "app.flows", "greet", [from_plain_json("a")])
    Run.objects.filter(pk=older.step.run_id).update(
        created_at=timezone.now() - timedelta(minutes=1)
    )
    newer = submit_run(registered, "app.flows", "greet", [from_plain_json("b")])
    Execution.objects.filter(pk=newer.pk).update(state="succeeded")
    Result.objects.create(execution=newer, type="value", value=from_plain_json(1))

    listed = api.get(URL).json()["runs"]

    assert [(r["id"], r["status"]) for r in listed] == [
        (newer.step.run_id, "succeeded"),
        (older.step.run_id, "queued"),
    ]
    assert listed[0]["module"] == "app.flows"
    assert listed[0]["target"] == "greet"
    assert listed[0]["createdAt"]


def test_it_lists_at_most_50_runs_in_a_fixed_number_of_queries(
    api, registered, django_assert_num_queries
):
    for _ in range(55):
        submit_run(registered, "app.flows", "greet", [from_plain_json("a")])

    with django_assert_num_queries(5):
        listed = api.get(URL).json()["runs"]

    assert len(listed) == 50


def test_it_reports_an_unknown_workspace(api, registered):
    response = api.get("/api/projects/default/workspaces/elsewhere/runs")

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"


def _runs(registered, count, **fields):
    made = [
        submit_run(registered, "app.flows", "greet", [from_plain_json(i)]) for i in range(count)
    ]
    return [execution.step.run_id for execution in made]


def _succeed(run_id):
    root = Execution.objects.get(step__run_id=run_id, step__number=1)
    Execution.objects.filter(pk=root.pk).update(state="succeeded")
    Result.objects.create(execution=root, type="value", value=from_plain_json(1))


def test_it_filters_by_status(api, registered):
    queued, done, also_done = _runs(registered, 3)
    _succeed(done)
    _succeed(also_done)

    succeeded = api.get(URL, status="succeeded").json()["runs"]
    still_queued = api.get(URL, status="queued").json()["runs"]

    assert {r["id"] for r in succeeded} == {done, also_done}
    assert [r["id"] for r in still_queued] == [queued]
    assert api.get(URL, status="failed").json()["runs"] == []


def test_it_filters_by_workflow(api, registered):
    definitions = {"app.flows": [GREET, {"name": "other", "type": "workflow"}]}
    register_manifests(registered, parse_manifests({"modules": definitions}))
    other = submit_run(registered, "app.flows", "other", []).step.run_id
    (greeted,) = _runs(registered, 1)

    listed = api.get(URL, workflow="app.flows/other").json()["runs"]

    assert [r["id"] for r in listed] == [other]
    assert [r["id"] for r in api.get(URL, workflow="app.flows/greet").json()["runs"]] == [greeted]
    assert api.get(URL, workflow="elsewhere/greet").json()["runs"] == []


def test_it_filters_by_age_and_limits_the_count(api, registered):
    old, *recent = _runs(registered, 4)
    Run.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    assert {r["id"] for r in api.get(URL, since=since).json()["runs"]} == set(recent)
    assert len(api.get(URL, limit="2").json()["runs"]) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "done"}, "status"),
        ({"workflow": "greet"}, "workflow"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "²"}, "limit"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_it_refuses_a_malformed_filter_naming_it(api, registered, query, field):
    response = api.get(URL, **query)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert list(response.json()["details"]) == [field]
