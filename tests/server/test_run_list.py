from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Execution, Result, Run
from runs.submission import submit_run
from runs.values import from_plain_json

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

    listed = api.get(URL).json()

    assert [(r["id"], r["status"]) for r in listed] == [
        (newer.step.run_id, "succeeded"),
        (older.step.run_id, "queued"),
    ]
    assert listed[0]["module"] == "app.flows"
    assert listed[0]["target"] == "greet"
    assert listed[0]["created_at"]


def test_it_lists_at_most_50_runs_in_a_fixed_number_of_queries(
    api, registered, django_assert_num_queries
):
    for _ in range(55):
        submit_run(registered, "app.flows", "greet", [from_plain_json("a")])

    with django_assert_num_queries(5):
        listed = api.get(URL).json()

    assert len(listed) == 50


def test_it_reports_an_unknown_workspace(api, registered):
    response = api.get("/api/projects/default/workspaces/elsewhere/runs")

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"
