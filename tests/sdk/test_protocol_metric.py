"""The ``metric`` message of the worker protocol: what is accepted and what is refused."""

from __future__ import annotations

import json

import pytest

from coflux_wire import protocol

DEFINITION = {
    "key": "loss",
    "group": {"name": "training", "units": "epoch", "lower": 0, "upper": None},
    "scale": {"name": None, "units": None, "progress": False, "lower": None, "upper": 1.5},
    "throttle": 10,
}


def message(**fields):
    return {
        "type": "metric",
        "execution": "R1:1:1",
        "definitions": [DEFINITION],
        "points": [["loss", 0.5, 1.25], ["loss", 1, 2]],
        **fields,
    }


def test_it_accepts_definitions_and_points():
    assert protocol.decode(json.dumps(message()), protocol.WORKER_MESSAGES) == message()


def test_it_accepts_points_without_definitions_and_series_without_axes():
    bare = {"key": "n", "group": None, "scale": None, "throttle": None}
    assert protocol.validate(message(definitions=[bare], points=[]))


def test_it_is_a_worker_message_only():
    with pytest.raises(protocol.ProtocolError, match="not accepted here"):
        protocol.validate(message(), protocol.SERVER_MESSAGES)


@pytest.mark.parametrize(
    "fields",
    [
        {"execution": 1},
        {"definitions": {}},
        {"points": None},
        {"points": [["loss", 1]]},
        {"points": [["loss", "1", 2]]},
        {"points": [["loss", True, 2]]},
        {"points": [["loss", 1, None]]},
        {"points": [["", 1, 2]]},
        {"points": [["k" * 201, 1, 2]]},
        {"points": [["loss", float("nan"), 2]]},
        {"points": [["loss", 1, float("inf")]]},
        {"definitions": [{"group": None, "scale": None}]},
        {"definitions": ["loss"]},
        {"definitions": [{**DEFINITION, "group": {"name": "g"}}]},
        {"definitions": [{**DEFINITION, "group": {**DEFINITION["group"], "name": ""}}]},
        {"definitions": [{**DEFINITION, "group": {**DEFINITION["group"], "lower": "0"}}]},
        {"definitions": [{**DEFINITION, "scale": {**DEFINITION["scale"], "progress": 1}}]},
        {"definitions": [{**DEFINITION, "scale": {**DEFINITION["scale"], "extra": 1}}]},
        {"definitions": [{**DEFINITION, "throttle": 0}]},
        {"definitions": [{**DEFINITION, "throttle": "fast"}]},
    ],
)
def test_it_refuses_malformed_messages(fields):
    with pytest.raises(protocol.ProtocolError):
        protocol.validate(message(**fields))


def test_a_message_without_a_field_is_refused_naming_it():
    incomplete = message()
    del incomplete["points"]
    with pytest.raises(protocol.ProtocolError, match="missing field 'points'"):
        protocol.validate(incomplete)


def test_what_the_sdk_sends_is_valid():
    import coflux as cf
    from coflux._metrics import MetricRecorder

    sent = []
    recorder = MetricRecorder("R1:1:1", sent.append, background=False)
    group = cf.MetricGroup("g", units="s", lower=0, upper=1)
    scale = cf.MetricScale("y", units="%", progress=True, lower=0, upper=100)
    recorder.record(cf.Metric("a", group=group, scale=scale), 1, None)
    recorder.record(cf.Metric("b", throttle=None), 2.5, 3)
    recorder.close()

    for sent_message in sent:
        assert protocol.decode(protocol.encode(sent_message), protocol.WORKER_MESSAGES)
