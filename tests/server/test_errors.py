"""Every failure of the API is JSON: ``{"error", "message", "details"?}``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.test import Client

from assets import views as assets_views
from coflux_server.api_errors import status_of
from projects.errors import Code
from runs import api as runs_api
from runs.submission import submit_run
from runs.values import from_plain_json
from tests.processes import AUTH

pytestmark = pytest.mark.django_db


def test_it_rejects_malformed_json(api, project):
    response = api.client.post(
        "/api/projects/default/workspaces/default/runs", "{nope", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
    assert response.json()["message"]


def test_it_rejects_non_finite_numbers_as_invalid_json(api, project):
    response = api.client.post(
        "/api/projects/default/workspaces/default/runs",
        '{"module": "m", "target": "t", "arguments": [NaN]}',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


def test_it_rejects_an_oversized_body(api, project, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"module": "app.flows", "target": "greet", "arguments": ["x" * 2000]}

    response = api.post("/api/projects/default/workspaces/default/runs", body)

    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


def test_it_rejects_bodies_that_are_not_json(api, project):
    response = api.client.post(
        "/api/projects/default/workspaces/default/runs", "a=1", content_type="text/plain"
    )

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_it_answers_unknown_api_paths_with_json(client):
    response = client.get("/api/projects/default/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_it_answers_a_wrong_method_with_json(client):
    response = client.delete("/api/discover")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == {"GET", "OPTIONS"}


def test_it_answers_a_wrong_method_on_the_result_endpoint_with_json(api, project):
    response = api.post("/api/projects/default/runs/Rxxxxxx/result", {})

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_it_reports_an_unknown_project(client, db):
    response = client.get("/api/projects/nowhere/workspaces/default/manifests")

    assert response.status_code == 404
    assert json.loads(response.content) == {
        "error": "project_not_found",
        "message": "No project named 'nowhere'.",
    }


# --- one table from codes to statuses -------------------------------------------------------


@pytest.mark.parametrize("code", list(Code))
def test_every_code_has_a_status_and_what_is_not_found_is_404(code):
    status = status_of(code)

    assert 400 <= status < 600
    assert (status == 404) == code.endswith("not_found")


# --- unexpected errors are logged and answered 500 ------------------------------------------


def boom(*args, **kwargs):
    raise RuntimeError("boom")


async def aboom(*args, **kwargs):
    raise RuntimeError("boom")


def assert_internal_error(response, caplog) -> None:
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "Internal server error."}
    logged = [r for r in caplog.records if r.name == "coflux.api" and r.exc_info]
    assert len(logged) == 1
    assert "RuntimeError: boom" in caplog.text


def test_it_logs_an_unexpected_error_in_a_drf_view(api, project, monkeypatch, caplog, settings):
    settings.DEBUG = False
    monkeypatch.setattr(runs_api, "run_by_id", boom)

    response = api.get("/api/projects/default/runs/Rbcdfgh")

    assert_internal_error(response, caplog)


@pytest.mark.parametrize("endpoint", ["result", "logs"])
def test_it_logs_an_unexpected_error_in_a_waiting_view(
    api, registered, monkeypatch, caplog, settings, endpoint
):
    settings.DEBUG = False
    run_id = submit_run(registered, "app.flows", "greet", [from_plain_json("x")]).step.run_id
    monkeypatch.setattr(runs_api, "await_outcome", aboom)
    monkeypatch.setattr(runs_api, "await_logs", aboom)

    response = api.get(f"/api/projects/default/runs/{run_id}/{endpoint}")

    assert_internal_error(response, caplog)


def test_it_logs_an_unexpected_error_in_the_blob_view(client, monkeypatch, caplog, settings):
    settings.DEBUG = False
    monkeypatch.setattr(assets_views, "store_blob", boom)

    response = client.generic("PUT", "/blobs/" + "0" * 64, b"x")

    assert_internal_error(response, caplog)


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """What the server's console shows of ``django.request``."""
    (console,) = logging.getLogger("django.request").handlers
    shown = io.StringIO()
    previous = console.setStream(shown)
    try:
        yield shown
    finally:
        console.setStream(previous)


def test_a_failure_after_the_view_is_logged_and_answered_500_in_json(
    project, monkeypatch, request_log, settings
):
    settings.DEBUG = False
    workspace = SimpleNamespace(name="default", project_id=project.id)
    monkeypatch.setattr(
        runs_api, "run_by_id", lambda project, run_id: SimpleNamespace(workspace=workspace)
    )
    # What the view returns cannot be rendered: the failure comes after it has returned.
    monkeypatch.setattr(runs_api, "run_snapshot", lambda run: {})
    monkeypatch.setattr(runs_api, "RunSerializer", lambda snapshot: SimpleNamespace(data=object()))

    client = Client(raise_request_exception=False, headers=AUTH)
    response = client.get("/api/projects/default/runs/Rbcdfgh")

    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "Internal server error."}
    assert "TypeError: Object of type object is not JSON serializable" in request_log.getvalue()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/projects/default/runs/Rbcdfgh/result", 405),
        ("/api/projects/default/runs/Rbcdfgh/logs", 405),
        ("/api/projects/default/nothing-here", 404),
        ("/api/projects/default/nothing\nhere", 404),
        (f"/blobs/{'0' * 64}", 405),
    ],
)
def test_the_api_answers_a_post_without_csrf_token_in_json(project, path, status):
    """A request with a token needs no CSRF token (see tests/auth for those with cookies)."""
    client = Client(enforce_csrf_checks=True, headers=AUTH)

    response = client.post(path, "{}", content_type="application/json")

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
