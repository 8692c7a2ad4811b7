"""Logs and metrics of executions in real executor processes (this test plays the worker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from coflux._zygote import Zygote
from coflux_wire import protocol
from tests.sdk.support import Executor, executors, importable_module, started_zygote

FLOWS = """
import sys

import coflux as cf

loss = cf.Metric("loss", group="training")


@cf.task()
def train(epochs):
    for epoch in range(epochs):
        loss.record(1 / (epoch + 1))
    for _ in cf.progress(range(3)):
        print("step")
    cf.log_info("trained {epochs} epochs", epochs=epochs, final=loss.key)
    print("warned", file=sys.stderr)
    return epochs


@cf.task()
def conflicting():
    cf.Metric("x", scale="a").record(1)
    cf.Metric("x", scale="b").record(2)


@cf.task()
def chatty(lines):
    for n in range(lines):
        print("line", n)
"""


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from importable_module(tmp_path_factory, "telemetry_flows", FLOWS)


@pytest.fixture(scope="module")
def zygote(flows: str) -> Iterator[Zygote]:
    yield from started_zygote(flows)


@pytest.fixture
def start(zygote: Zygote, flows: str) -> Iterator[Callable[[], Executor]]:
    yield from executors(zygote, flows)


def messages_until_result(process: Executor) -> list[dict[str, Any]]:
    received = []
    while True:
        message = process.receive()
        received.append(message)
        if message["type"] == "result":
            return received


def result_of(process: Executor) -> dict[str, Any]:
    """The next result (skipping logs and metrics); the process then says ``ready`` again."""
    result = messages_until_result(process)[-1]["result"]
    assert process.receive()["type"] == "ready"
    return result


def test_metrics_and_logs_are_sent_before_the_result(start):
    process = start()
    process.execute("train", 1000)

    received = messages_until_result(process)

    assert received[-1]["result"]["type"] == "value"
    metrics = [m for m in received if m["type"] == "metric"]
    for message in metrics:
        protocol.validate(message, protocol.WORKER_MESSAGES)
        assert message["execution"] == "R1:1:1"
    definitions = [d for m in metrics for d in m["definitions"]]
    assert [d["key"] for d in definitions] == ["loss", "progress"]
    points = [p for m in metrics for p in m["points"]]
    losses = [p for p in points if p[0] == "loss"]
    # Throttled: the first point at once, and the last one recorded, when the execution ended.
    assert losses[0][1] == 1.0 and losses[-1][1] == 1 / 1000
    assert len(losses) < 20
    assert [p[1] for p in points if p[0] == "progress"][-1] == 3
    entries = [entry for m in received if m["type"] == "log" for entry in m["entries"]]
    assert [(level, template) for _, level, template, _ in entries] == [
        (1, "step"),
        (1, "step"),
        (1, "step"),
        (2, "trained {epochs} epochs"),
        (3, "warned"),
    ]
    assert set(entries[3][3]) == {"epochs", "final"}


def test_the_process_is_reused_after_an_execution_recording_metrics(start):
    process = start()
    process.execute("train", 3)
    assert result_of(process)["type"] == "value"
    # An execution leaving a thread behind would make the process exit instead.
    assert not process.exited(0.2)
    process.execute("train", 2, execution="R1:2:1")
    assert result_of(process)["type"] == "value"


def test_a_conflicting_definition_fails_the_execution(start):
    process = start()
    process.execute("conflicting")

    result = result_of(process)

    assert result["type"] == "error"
    assert result["error"]["type"] == "builtins.ValueError"


def test_many_lines_are_sent_in_batches_in_order(start):
    process = start()
    process.execute("chatty", 1000)

    received = messages_until_result(process)

    batches = [m["entries"] for m in received if m["type"] == "log"]
    assert [entry[2] for batch in batches for entry in batch] == [f"line {n}" for n in range(1000)]
    assert all(len(batch) <= 100 for batch in batches)
    assert len(batches) >= 10
