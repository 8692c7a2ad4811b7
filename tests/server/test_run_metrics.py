from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone

from runs.models import MetricDefinition, MetricPoint
from runs.orchestration import messages
from runs.orchestration.envelopes import Incoming
from runs.orchestration.memory import Memory
from runs.orchestration.tick import Tick
from runs.submission import submit_run
from runs.values import from_plain_json

pytestmark = pytest.mark.django_db

LOSS = {
    "key": "loss",
    "group": {"name": "training", "units": "epoch", "lower": 0, "upper": None},
    "scale": None,
    "throttle": 10,
}


@pytest.fixture
def root(registered):
    return submit_run(registered, "app.flows", "greet", [from_plain_json("world")])


def session(*executions):
    """What the orchestrator keeps of a worker session; only ``executions`` matters here."""
    return SimpleNamespace(executions=set(executions))


def store_metric_messages(items):
    """Store ``(session, channel, message)`` items as one tick of the orchestrator does."""
    tick = Tick(timezone.now())
    messages.metrics(Memory(0), tick, [Incoming(*item) for item in items])
    tick.flush()


def metric(execution, definitions=(), points=()):
    return {
        "type": "metric",
        "execution": execution,
        "definitions": list(definitions),
        "points": [list(point) for point in points],
    }


def test_it_stores_definitions_and_points_of_the_sessions_executions(root):
    store_metric_messages(
        [
            (session(root.id), "channel", metric(root.id, [LOSS], [("loss", 0.5, 1.0)])),
            (session(root.id), "channel", metric(root.id, [], [("loss", 0.25, 2.0)])),
        ]
    )

    [definition] = MetricDefinition.objects.all()
    assert (definition.key, definition.group, definition.throttle) == (
        "loss",
        LOSS["group"],
        10,
    )
    assert list(MetricPoint.objects.order_by("id").values_list("key", "value", "at")) == [
        ("loss", 0.5, 1.0),
        ("loss", 0.25, 2.0),
    ]


def test_it_ignores_executions_the_session_does_not_run(root):
    store_metric_messages([(session(), "channel", metric(root.id, [LOSS], [("loss", 1, 1)]))])

    assert not MetricDefinition.objects.exists()
    assert not MetricPoint.objects.exists()


def test_a_definition_sent_again_keeps_the_first(root):
    again = {**LOSS, "throttle": None}
    store_metric_messages([(session(root.id), "c", metric(root.id, [LOSS]))])
    store_metric_messages([(session(root.id), "c", metric(root.id, [again]))])

    assert list(MetricDefinition.objects.values_list("throttle", flat=True)) == [10]


def test_it_does_nothing_without_messages(root, django_assert_num_queries):
    with django_assert_num_queries(0):
        store_metric_messages([])


def test_it_stores_a_tick_in_two_queries(root, django_assert_max_num_queries):
    items = [
        (session(root.id), "c", metric(root.id, [LOSS], [("loss", n, n) for n in range(10)]))
        for _ in range(5)
    ]
    with django_assert_max_num_queries(2):
        store_metric_messages(items)
    assert MetricPoint.objects.count() == 50


def test_the_api_lists_definitions_and_points_per_execution(api, root):
    store_metric_messages(
        [
            (
                session(root.id),
                "c",
                metric(root.id, [LOSS], [("loss", 0.5, 1.0), ("loss", 0.25, 2.0)]),
            )
        ]
    )

    page = api.get(f"/api/projects/default/runs/{root.step.run_id}/metrics").json()

    assert page == {
        "executions": [
            {
                "executionId": root.id,
                "definitions": [LOSS],
                "points": {"loss": [[1.0, 0.5], [2.0, 0.25]]},
            }
        ],
        "cursor": MetricPoint.objects.order_by("id").last().id,
    }


def test_the_api_continues_after_a_cursor_and_filters_by_execution(api, root):
    url = f"/api/projects/default/runs/{root.step.run_id}/metrics"
    store_metric_messages([(session(root.id), "c", metric(root.id, [LOSS], [("loss", 1, 1)]))])
    cursor = api.get(url).json()["cursor"]
    store_metric_messages([(session(root.id), "c", metric(root.id, [], [("loss", 2, 2)]))])

    page = api.get(url, after=cursor).json()
    assert page["executions"][0]["points"] == {"loss": [[2.0, 2.0]]}
    assert page["executions"][0]["definitions"] == [LOSS]

    assert api.get(url, execution=f"{root.id}9").json() == {"executions": [], "cursor": None}


def test_the_api_lists_nothing_for_a_run_without_metrics(api, root):
    page = api.get(f"/api/projects/default/runs/{root.step.run_id}/metrics").json()

    assert page == {"executions": [], "cursor": None}


def test_the_api_reports_an_unknown_run_and_a_bad_cursor(api, root):
    response = api.get("/api/projects/default/runs/Rnothing/metrics")
    assert response.status_code == 404
    assert response.json()["error"] == "run_not_found"

    response = api.get(f"/api/projects/default/runs/{root.step.run_id}/metrics", after="x")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
