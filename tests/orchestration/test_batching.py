"""How the runner groups what arrives into ticks."""

from __future__ import annotations

import asyncio
import time

from projects import mailbox
from runs.orchestration.runner import LAZY_SECONDS, Runner


def message(kind: str, **fields) -> dict:
    return {"kind": "message", "session": "S", "channel": "c", "message": {"type": kind, **fields}}


def batch_after(arrivals: list[tuple[float, dict]]) -> tuple[list[str], float]:
    """The first batch when envelopes arrive after the given delays (seconds), and how long it
    took to come."""

    async def scenario() -> tuple[list[str], float]:
        runner = Runner(1)

        async def feed() -> None:
            for delay, envelope in arrivals:
                await asyncio.sleep(delay)
                runner.put(envelope)

        feeding = asyncio.create_task(feed())
        started = time.monotonic()
        batch = await runner._next_batch(None)
        took = time.monotonic() - started
        await feeding
        return [envelope["message"]["type"] for envelope in batch], took

    return asyncio.run(scenario())


def test_messages_nobody_waits_for_share_a_tick_with_what_follows_them():
    kinds, _ = batch_after(
        [
            (0, message("started", execution="R:1:1")),
            (0.002, message("wait", execution="R:0:1", targets=["R:1:1"], reply=False)),
            (0.002, message("log", execution="R:1:1", entries=[])),
            (0.002, message("result", execution="R:1:1", result={"type": "value"})),
        ]
    )
    assert kinds == ["started", "wait", "log", "result"]


def test_a_message_someone_waits_for_is_not_held():
    kinds, took = batch_after([(0, message("submit", parent="R:0:1")), (0.5, message("log"))])
    assert kinds == ["submit"]
    assert took < 0.5


def test_lazy_messages_wait_no_longer_than_the_lazy_period_in_all():
    arrivals = [(0, message("started", execution="R:1:1"))]
    arrivals += [(LAZY_SECONDS / 4, message("log", execution="R:1:1")) for _ in range(8)]
    kinds, _ = batch_after(arrivals)
    assert kinds[0] == "started"
    assert 2 <= len(kinds) < 9


def test_envelopes_from_other_processes_reach_the_runner_in_order():
    """What another process posts (its workers' frames, the API's wakes) comes over the
    channel layer to the project's runner here, which is not registered as local there."""
    sent = [message("started", execution="R:1:1"), message("result", execution="R:1:1")]

    async def scenario() -> list[dict]:
        runner = Runner(7)
        reading = asyncio.create_task(runner._read_channel_layer())
        try:
            await mailbox.post_many(7, sent)
            await mailbox.post(7, {"kind": "wake", "executions": []})
            return [await asyncio.wait_for(runner.queue.get(), 5) for _ in range(3)]
        finally:
            reading.cancel()

    assert asyncio.run(scenario()) == [*sent, {"kind": "wake", "executions": []}]
