from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from runs.models import Execution, Result
from runs.submission import submit_run
from runs.values import from_plain_json
from tests.sample_targets import GREET
from workspaces.manifests import parse_manifests, register_manifests

pytestmark = pytest.mark.django_db


def start(workspace) -> Execution:
    return submit_run(workspace, "app.flows", "greet", [from_plain_json("world")])


def succeed(execution: Execution, value: object) -> None:
    Execution.objects.filter(pk=execution.pk).update(state="succeeded", completed_at=timezone.now())
    Result.objects.create(execution=execution, type="value", value=from_plain_json(value))


def test_it_returns_the_result_of_a_finished_run(api, registered):
    root = start(registered)
    succeed(root, 42)

    response = api.get(f"/api/projects/default/runs/{root.step.run_id}/result", wait=5)

    assert response.status_code == 200
    assert response.json() == {
        "runId": root.step.run_id,
        "status": "succeeded",
        "result": {"type": "value", "value": from_plain_json(42)},
    }


def test_it_answers_at_once_without_wait(api, registered):
    root = start(registered)

    started = time.monotonic()
    response = api.get(f"/api/projects/default/runs/{root.step.run_id}/result")

    assert time.monotonic() - started < 1
    assert response.json() == {"runId": root.step.run_id, "status": "queued", "result": None}


def test_it_waits_for_an_unfinished_run_until_the_time_is_up(api, registered):
    root = start(registered)

    started = time.monotonic()
    response = api.get(f"/api/projects/default/runs/{root.step.run_id}/result", wait=0.3)

    assert time.monotonic() - started >= 0.3
    assert response.json()["status"] == "queued"


@pytest.mark.django_db(transaction=True)
def test_it_answers_as_soon_as_the_run_finishes(api, project, workspace):
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [GREET]}}))
    root = start(workspace)

    def finish_later() -> None:
        time.sleep(0.3)
        try:
            succeed(root, "done")
        finally:
            connection.close()

    finisher = threading.Thread(target=finish_later)
    finisher.start()
    started = time.monotonic()
    response = api.get(f"/api/projects/default/runs/{root.step.run_id}/result", wait=30)
    finisher.join()

    assert time.monotonic() - started < 10
    assert response.json()["status"] == "succeeded"
    assert response.json()["result"]["value"] == from_plain_json("done")


@pytest.mark.parametrize("wait", ["soon", "-1", "nan", "inf"])
def test_it_rejects_an_invalid_wait(api, registered, wait):
    root = start(registered)

    response = api.get(f"/api/projects/default/runs/{root.step.run_id}/result", wait=wait)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_it_reports_an_unknown_run(api, registered):
    response = api.get("/api/projects/default/runs/Rnothing/result", wait=1)

    assert response.status_code == 404
    assert response.json()["error"] == "run_not_found"


def test_it_reports_an_unknown_project(api, registered):
    response = api.get("/api/projects/nope/runs/Rnothing/result")

    assert response.status_code == 404
    assert response.json()["error"] == "project_not_found"
