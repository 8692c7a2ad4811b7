from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runs.models import LogMessage
from runs.submission import submit_run
from runs.values import from_plain_json

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.fixture
def root(registered):
    return submit_run(registered, "app.flows", "greet", [from_plain_json("world")])


def log(execution, template, level=2, **values):
    return LogMessage.objects.create(
        execution=execution, timestamp=MOMENT, level=level, template=template, values=values
    )


def test_it_lists_a_runs_log_lines_in_order(api, root):
    first = log(root, "hello {name}", name=from_plain_json("world"))
    log(root, "stdout line", level=1)

    page = api.get(f"/api/projects/default/runs/{root.step.run_id}/logs").json()

    assert page["logs"][0] == {
        "id": first.id,
        "executionId": root.id,
        "timestamp": int(MOMENT.timestamp() * 1000),
        "level": 2,
        "template": "hello {name}",
        "values": {"name": from_plain_json("world")},
    }
    assert [line["template"] for line in page["logs"]] == ["hello {name}", "stdout line"]
    assert page["cursor"] == page["logs"][-1]["id"]


def test_it_continues_after_a_cursor(api, root):
    log(root, "one")
    cursor = api.get(f"/api/projects/default/runs/{root.step.run_id}/logs").json()["cursor"]
    log(root, "two")

    page = api.get(f"/api/projects/default/runs/{root.step.run_id}/logs", after=cursor).json()

    assert [line["template"] for line in page["logs"]] == ["two"]


def test_it_keeps_the_cursor_when_nothing_is_new(api, root):
    log(root, "one")
    url = f"/api/projects/default/runs/{root.step.run_id}/logs"
    cursor = api.get(url).json()["cursor"]

    assert api.get(url, after=cursor).json() == {"logs": [], "cursor": cursor, "done": False}


def test_it_filters_by_execution(api, root):
    log(root, "mine")

    page = api.get(
        f"/api/projects/default/runs/{root.step.run_id}/logs", execution=f"{root.id}x"
    ).json()

    assert page["logs"] == []


def test_it_rejects_a_bad_cursor(api, root):
    response = api.get(f"/api/projects/default/runs/{root.step.run_id}/logs", after="soon")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_it_reports_an_unknown_run(api, registered):
    response = api.get("/api/projects/default/runs/Rnothing/logs")

    assert response.status_code == 404
    assert response.json()["error"] == "run_not_found"
