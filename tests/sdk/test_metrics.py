"""Metrics: definitions, ``at`` values and throttling, with a fake clock where time matters."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import pytest

import coflux as cf
from coflux._current import activate
from coflux._metrics import MetricRecorder, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sent() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def recorder(clock: Clock, sent: list[dict[str, Any]]) -> MetricRecorder:
    """The metrics of an execution that started 10 s ago (by the fake clock)."""
    return MetricRecorder(
        "R1:1:1",
        sent.append,
        started=clock.now - 10,
        clock=clock,
        batch_size=1000,
        flush_interval=0.2,
        background=False,
    )


def points(sent: list[dict[str, Any]]) -> list[list[Any]]:
    return [point for message in sent for point in message["points"]]


def definitions(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [definition for message in sent for definition in message["definitions"]]


# --- throttling ----------------------------------------------------------------------------


def test_a_throttle_sends_the_first_point_at_once_and_the_last_of_each_window_at_its_end():
    throttle = Throttle(0.1)

    assert throttle.offer(("k", 1, 0.0), now=0.0) == [("k", 1, 0.0)]
    assert throttle.offer(("k", 2, 0.01), now=0.01) == []
    assert throttle.offer(("k", 3, 0.05), now=0.05) == []
    assert throttle.due(0.09) == []
    assert throttle.due(0.1) == [("k", 3, 0.05)]
    # The point sent at the window's end opened the next window.
    assert throttle.offer(("k", 4, 0.15), now=0.15) == []
    assert throttle.offer(("k", 5, 0.25), now=0.25) == [("k", 4, 0.15)]
    assert throttle.drain() == [("k", 5, 0.25)]


def test_a_throttle_sends_at_once_after_a_quiet_window():
    throttle = Throttle(0.1)
    throttle.offer(("k", 1, 0.0), now=0.0)

    assert throttle.offer(("k", 2, 0.5), now=0.5) == [("k", 2, 0.5)]


def test_a_metric_recorded_ten_thousand_times_in_a_loop_sends_few_points(recorder, clock, sent):
    # 8 points per second and a loop taking 1.22 s: windows of 1/8 s, 1024 records each (times
    # that floats hold exactly).
    metric = cf.Metric("loss", throttle=8)
    start = clock.now
    for i in range(10_000):
        clock.now = start + i / 8192
        metric.record(i)
        recorder.flush()  # as the background thread does whenever something is due
        if clock.now - start >= 0.2 and not sent:
            pytest.fail("the first batch was not sent after the flush interval")
    recorder.close()

    # The first point at once, then the last point of each window, then the last one.
    assert [point[1] for point in points(sent)] == [0, *(1023 + 1024 * n for n in range(9)), 9999]
    assert points(sent)[0] == ["loss", 0, 10.0]
    assert points(sent)[1] == ["loss", 1023, 10.0 + 1023 / 8192]


def test_unthrottled_metrics_send_every_point(recorder, clock, sent):
    metric = cf.Metric("step", throttle=None)
    for i in range(50):
        metric.record(i)
    recorder.close()

    assert [point[1] for point in points(sent)] == list(range(50))


def test_points_are_sent_in_batches(clock, sent):
    recorder = MetricRecorder(
        "R1:1:1", sent.append, clock=clock, batch_size=10, flush_interval=1, background=False
    )
    activate(_Context(recorder))  # type: ignore[arg-type]
    try:
        metric = cf.Metric("n", throttle=None)
        for i in range(9):
            metric.record(i)
        recorder.flush()
        assert sent == []  # neither a full batch nor late yet
        metric.record(9)
        recorder.flush()
        assert [len(message["points"]) for message in sent] == [10]
        for i in range(25):
            metric.record(i)
        recorder.close()
    finally:
        activate(None)

    assert [len(message["points"]) for message in sent] == [10, 10, 10, 5]


def test_late_points_are_sent_after_the_flush_interval(recorder, clock, sent):
    cf.Metric("n").record(1)
    recorder.flush()
    assert sent == []
    clock.now += 0.2
    recorder.flush()
    assert points(sent) == [["n", 1, 10.0]]


def test_a_background_thread_sends_points_and_close_sends_the_held_one(sent):
    recorder = MetricRecorder("R1:1:1", sent.append, batch_size=100, flush_interval=0.05)
    activate(_Context(recorder))  # type: ignore[arg-type]
    try:
        metric = cf.Metric("busy")
        for i in range(10_000):
            metric.record(i)
        first = time.monotonic()
        while not sent and time.monotonic() - first < 5:
            time.sleep(0.01)
        assert points(sent)[0][1] == 0
        recorder.close()
    finally:
        activate(None)

    values = [point[1] for point in points(sent)]
    assert values[-1] == 9_999
    assert len(values) < 100
    assert not any(thread.name == "coflux-metrics" for thread in threading.enumerate())


# --- definitions ---------------------------------------------------------------------------


def test_a_definition_goes_with_the_first_point_only(recorder, clock, sent):
    group = cf.MetricGroup("training", units="epoch", lower=0, upper=10)
    loss = cf.Metric("loss", group=group, scale=cf.MetricScale("error", lower=0), throttle=None)
    loss.record(0.5, at=1)
    loss.record(0.25, at=2)
    recorder.close()

    assert definitions(sent) == [
        {
            "key": "loss",
            "group": {"name": "training", "units": "epoch", "lower": 0, "upper": 10},
            "scale": {"name": "error", "units": None, "progress": False, "lower": 0, "upper": None},
            "throttle": None,
        }
    ]
    assert points(sent) == [["loss", 0.5, 1], ["loss", 0.25, 2]]


def test_names_stand_for_groups_and_scales(recorder, sent):
    cf.Metric("a", group="g", scale="s").record(1)
    recorder.close()

    [definition] = definitions(sent)
    assert definition["group"] == {"name": "g", "units": None, "lower": None, "upper": None}
    assert definition["scale"]["name"] == "s"


def test_the_same_description_may_be_recorded_through_several_objects(recorder, sent):
    cf.Metric("a", group="g").record(1)
    cf.Metric("a", group=cf.MetricGroup("g")).record(2)
    recorder.close()

    assert len(definitions(sent)) == 1


@pytest.mark.parametrize(
    "first, second",
    [
        (cf.Metric("a", group="g"), cf.Metric("a", group="h")),
        (cf.Metric("a", scale="s"), cf.Metric("a")),
        (cf.Metric("a", group=cf.MetricGroup("g", units="s")), cf.Metric("b", group="g")),
        (
            cf.Metric("a", group="g", scale=cf.MetricScale("y", units="%")),
            cf.Metric("b", group="g", scale=cf.MetricScale("y", units="ms")),
        ),
    ],
)
def test_a_conflicting_redefinition_raises(recorder, first, second):
    first.record(1)
    with pytest.raises(ValueError, match="already defined differently"):
        second.record(2)


def test_scales_of_the_same_name_in_different_groups_do_not_conflict(recorder, sent):
    cf.Metric("a", group="g", scale=cf.MetricScale("y", units="%")).record(1)
    cf.Metric("b", group="h", scale=cf.MetricScale("y", units="ms")).record(1)
    cf.Metric("c", scale=cf.MetricScale(units="x")).record(1)
    cf.Metric("d", scale=cf.MetricScale(units="z")).record(1)  # unnamed: private
    recorder.close()

    assert len(definitions(sent)) == 4


@pytest.mark.parametrize(
    "make",
    [
        lambda: cf.Metric(""),
        lambda: cf.Metric("k", throttle=0),
        lambda: cf.Metric("k", throttle=-1),
        lambda: cf.MetricGroup(""),
        lambda: cf.MetricScale(""),
    ],
)
def test_invalid_descriptions_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_values_must_be_numbers(recorder):
    with pytest.raises(TypeError):
        cf.Metric("k").record("1")
    with pytest.raises(TypeError):
        cf.Metric("k").record(True)


# --- at ------------------------------------------------------------------------------------


def test_at_defaults_to_seconds_since_the_execution_started(recorder, clock, sent):
    metric = cf.Metric("k", throttle=None)
    clock.now += 1.5
    metric.record(1)
    recorder.close()

    assert points(sent) == [["k", 1, 11.5]]


def test_custom_at_values_must_strictly_increase(recorder, sent):
    metric = cf.Metric("k", throttle=None)
    for value, at in [(1, 1), (2, 2), (3, 2), (4, 1.5), (5, 3)]:
        metric.record(value, at=at)
    recorder.close()

    assert points(sent) == [["k", 1, 1], ["k", 2, 2], ["k", 5, 3]]


def test_a_series_switching_between_custom_and_automatic_at_uses_automatic_ones(
    recorder, clock, sent
):
    metric = cf.Metric("k", throttle=None)
    metric.record(1, at=500)
    metric.record(2)
    metric.record(3, at=1000)
    recorder.close()

    assert points(sent) == [["k", 1, 500], ["k", 2, 10.0], ["k", 3, 10.0]]


def test_values_json_cannot_carry_are_dropped(recorder, sent):
    metric = cf.Metric("k", throttle=None)
    metric.record(math.nan)
    metric.record(math.inf)
    metric.record(1)
    recorder.close()

    assert points(sent) == [["k", 1, 10.0]]
    assert len(definitions(sent)) == 1


# --- progress and outside executions -------------------------------------------------------


def test_progress_records_the_count_handled_after_each_item(recorder, sent):
    seen = []
    for item in cf.progress((letter for letter in "abc"), group="work"):
        seen.append(item)
    recorder.close()

    assert seen == ["a", "b", "c"]
    [definition] = definitions(sent)
    assert definition["key"] == "progress"
    assert definition["group"]["name"] == "work"
    assert definition["scale"] == {
        "name": None,
        "units": None,
        "progress": True,
        "lower": None,
        "upper": 3,
    }
    # Throttled: the first at once, the last when the execution ends.
    assert [point[1] for point in points(sent)] == [1, 3]


def test_outside_an_execution_recording_does_nothing():
    activate(None)
    cf.Metric("k").record(1)
    assert list(cf.progress([1, 2], key="p")) == [1, 2]


class _Context:
    """Stands for an execution context: only what ``Metric.record`` uses."""

    def __init__(self, recorder: MetricRecorder) -> None:
        self._recorder = recorder

    def metrics(self) -> MetricRecorder:
        return self._recorder


@pytest.fixture(autouse=True)
def _execution(request):
    """Run each test as if in an execution whose metrics are the ``recorder`` fixture's."""
    if "recorder" in request.fixturenames:
        activate(_Context(request.getfixturevalue("recorder")))  # type: ignore[arg-type]
    yield
    activate(None)
