"""The log API's time filter (``from``) and its follow mode (``wait``, ``done``)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from runs.models import Execution, LogMessage, Result
from runs.submission import submit_run
from runs.values import from_plain_json
from tests.sample_targets import GREET
from workspaces.manifests import parse_manifests, register_manifests

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def start(workspace) -> Execution:
    return submit_run(workspace, "app.flows", "greet", [from_plain_json("world")])


def log(execution, template, at=MOMENT):
    return LogMessage.objects.create(
        execution=execution, timestamp=at, level=2, template=template, values={}
    )


def finish(execution: Execution) -> None:
    Execution.objects.filter(pk=execution.pk).update(state="succeeded", completed_at=timezone.now())
    Result.objects.create(execution=execution, type="value", value=from_plain_json(1))


def url(execution: Execution) -> str:
    return f"/api/projects/default/runs/{execution.step.run_id}/logs"


def test_from_keeps_lines_logged_at_or_after_a_time(api, registered):
    root = start(registered)
    log(root, "early", MOMENT)
    log(root, "on time", MOMENT + timedelta(seconds=1))
    log(root, "late", MOMENT + timedelta(seconds=2))
    from_ms = int(MOMENT.timestamp() * 1000) + 1000

    page = api.get(url(root), **{"from": from_ms}).json()

    assert [line["template"] for line in page["logs"]] == ["on time", "late"]


def test_from_and_after_combine(api, registered):
    root = start(registered)
    first = log(root, "one", MOMENT + timedelta(seconds=5))
    log(root, "two", MOMENT)
    log(root, "three", MOMENT + timedelta(seconds=5))

    page = api.get(url(root), after=first.id, **{"from": int(MOMENT.timestamp() * 1000) + 1}).json()

    assert [line["template"] for line in page["logs"]] == ["three"]


@pytest.mark.parametrize("value", ["yesterday", "-5", "1.5"])
def test_a_bad_from_is_refused(api, registered, value):
    root = start(registered)

    response = api.get(url(root), **{"from": value})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_done_says_a_finished_run_has_no_more_lines(api, registered):
    root = start(registered)
    log(root, "one")
    assert api.get(url(root)).json()["done"] is False

    finish(root)

    assert api.get(url(root)).json()["done"] is True


def test_a_wait_for_a_finished_run_answers_at_once(api, registered):
    root = start(registered)
    finish(root)

    started = time.monotonic()
    page = api.get(url(root), wait=30).json()

    assert time.monotonic() - started < 5
    assert page == {"logs": [], "cursor": None, "done": True}


def test_a_wait_without_news_ends_when_the_time_is_up(api, registered):
    root = start(registered)
    cursor = log(root, "one").id

    started = time.monotonic()
    page = api.get(url(root), after=cursor, wait=0.5).json()

    assert time.monotonic() - started >= 0.5
    assert page == {"logs": [], "cursor": cursor, "done": False}


@pytest.mark.django_db(transaction=True)
def test_a_wait_answers_as_soon_as_a_line_arrives(api, project, workspace):
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [GREET]}}))
    root = start(workspace)

    def log_later() -> None:
        time.sleep(0.5)
        try:
            log(root, "arrived")
        finally:
            connection.close()

    writer = threading.Thread(target=log_later)
    writer.start()
    started = time.monotonic()
    page = api.get(url(root), wait=30).json()
    writer.join()

    assert time.monotonic() - started < 10
    assert [line["template"] for line in page["logs"]] == ["arrived"]
    assert page["done"] is False


@pytest.mark.parametrize("wait", ["soon", "-1", "nan"])
def test_a_bad_wait_is_refused(api, registered, wait):
    root = start(registered)

    response = api.get(url(root), wait=wait)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_only_get_is_allowed(api, registered):
    root = start(registered)

    response = api.post(url(root), {})

    assert response.status_code == 405
    assert response["Allow"] == "GET"
