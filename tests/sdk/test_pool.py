"""The worker's pool of executor processes, with a real zygote and real processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from coflux._pool import ExecutorPool, ExecutorProcess
from coflux._serialization import deserialize, serialize
from coflux._zygote import Zygote
from tests.sdk.support import importable_module

FLOWS = """
import time

import coflux as cf


@cf.task()
def inc(x):
    return x + 1


@cf.task()
def hang():
    time.sleep(60)
"""


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from importable_module(tmp_path_factory, "pool_flows", FLOWS)


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[ExecutorProcess, dict[str, Any]]] = []
        self.exits: list[ExecutorProcess] = []
        self.failures: list[BaseException] = []

    def on_message(self, process: ExecutorProcess, message: dict[str, Any]) -> None:
        self.messages.append((process, message))

    def on_exit(self, process: ExecutorProcess) -> None:
        self.exits.append(process)

    def readies(self) -> list[dict[str, Any]]:
        return [message for _, message in self.messages if message["type"] == "ready"]

    def results(self) -> dict[str, Any]:
        return {
            message["execution"]: deserialize(message["result"]["value"])
            for _, message in self.messages
            if message["type"] == "result"
        }


async def until(check: Callable[[], Any], timeout: float = 20) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def execute(execution: str, flows: str, target: str, *arguments: Any) -> dict[str, Any]:
    return {
        "type": "execute",
        "execution": execution,
        "run": "R1",
        "workspace": "default",
        "module": flows,
        "target": target,
        "target_type": "task",
        "arguments": [serialize(argument) for argument in arguments],
        "timeout_ms": 0,
    }


def run_pool(
    flows: str, scenario: Callable[[ExecutorPool, Recorder], Any], *, reuse: bool = True
) -> Recorder:
    recorder = Recorder()

    async def main() -> None:
        zygote = Zygote([flows], reuse=reuse)
        zygote.manifest()
        pool = ExecutorPool(
            zygote,
            on_message=recorder.on_message,
            on_exit=recorder.on_exit,
            on_failure=recorder.failures.append,
        )
        try:
            await pool.start(2)
            await scenario(pool, recorder)
        finally:
            pool.close()

    asyncio.run(main())
    assert not recorder.failures
    return recorder


def test_a_process_takes_the_next_execution_once_it_says_ready_again(flows):
    used: list[ExecutorProcess] = []

    async def scenario(pool: ExecutorPool, recorder: Recorder) -> None:
        await until(lambda: pool.take() is not None)
        process = pool.take()
        for n in range(3):
            pool.assign(process, execute(f"R1:{n}:1", flows, "inc", n))
            assert pool.take() is not process
            used.append(process)
            await until(lambda count=n + 1: len(recorder.results()) == count)
            await until(lambda: process.ready and process.idle)

    recorder = run_pool(flows, scenario)

    assert recorder.results() == {"R1:0:1": 1, "R1:1:1": 2, "R1:2:1": 3}
    assert not recorder.exits
    readies = [message["pid"] for message in recorder.readies()]
    assert readies.count(used[0].pid) == 4


def test_fresh_executors_run_one_execution_each_and_the_pool_is_topped_up(flows):
    async def scenario(pool: ExecutorPool, recorder: Recorder) -> None:
        await until(lambda: pool.take() is not None)
        for n in range(3):
            await until(lambda: pool.take() is not None)
            process = pool.take()
            pool.assign(process, execute(f"R1:{n}:1", flows, "inc", n))
            pool.fill(2)
        await until(lambda: len(recorder.results()) == 3 and len(recorder.exits) == 3)
        await until(lambda: len(recorder.readies()) >= 5)

    recorder = run_pool(flows, scenario, reuse=False)

    assert recorder.results() == {"R1:0:1": 1, "R1:1:1": 2, "R1:2:1": 3}
    pids = {process.pid for process in recorder.exits}
    assert len(pids) == 3
    assert len(recorder.readies()) >= 5


def test_a_killed_process_is_reported_with_its_execution(flows):
    async def scenario(pool: ExecutorPool, recorder: Recorder) -> None:
        await until(lambda: pool.take() is not None)
        process = pool.take()
        pool.assign(process, execute("R1:1:1", flows, "hang"))
        await asyncio.sleep(0.2)
        pool.kill(process)
        await until(lambda: recorder.exits)

    recorder = run_pool(flows, scenario)

    [exited] = recorder.exits
    assert exited.execution == "R1:1:1"
    assert not recorder.results()


def test_a_killed_process_is_not_handed_out_even_if_it_said_ready(flows):
    async def scenario(pool: ExecutorPool, recorder: Recorder) -> None:
        await until(lambda: pool.take() is not None)
        process = pool.take()
        pool.kill(process)
        assert process.ready
        assert pool.take() is not process
        await until(lambda: recorder.exits)

    recorder = run_pool(flows, scenario)

    assert not recorder.exits[0].idle


def test_a_busy_executor_does_not_block_the_pool(flows):
    """Messages an executor does not read yet wait in the pool's buffer, not in the loop."""

    async def scenario(pool: ExecutorPool, recorder: Recorder) -> None:
        await until(lambda: pool.take() is not None)
        process = pool.take()
        pool.assign(process, execute("R1:1:1", flows, "hang"))
        filler = {"type": "resolved", "execution": "R1:1:1", "target": "x", "result": {}}
        started = asyncio.get_running_loop().time()
        for _ in range(200):
            pool.send(process, {**filler, "padding": "x" * 65536})
        assert asyncio.get_running_loop().time() - started < 5
        assert process.outgoing
        pool.kill(process)
        await until(lambda: recorder.exits)

    run_pool(flows, scenario)
