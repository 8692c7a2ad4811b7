"""The worker with real executor processes, against a fake server speaking the protocol."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from coflux import Execution
from coflux._serialization import deserialize, serialize
from coflux._worker import Worker
from coflux_wire import protocol
from tests.sdk.support import importable_module

REPLY_TIMEOUT = 20

FLOWS = """
import os
import threading
import time

import coflux as cf


@cf.task()
def where():
    print("in", os.getcwd())
    os.environ["WORKER_TEST_LEFTOVER"] = "set"
    return [os.getpid(), os.getcwd()]


@cf.task()
def environment():
    return os.environ.get("WORKER_TEST_LEFTOVER")


@cf.task()
def sleepy(seconds):
    print(os.getpid(), os.getcwd())
    time.sleep(seconds)
    return os.getpid()


@cf.task()
def leaves_a_thread():
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    return os.getpid()


@cf.task()
def dies():
    os._exit(3)


@cf.task()
def child(x):
    return x


@cf.workflow()
def parent(x):
    return child(x) + 1


@cf.workflow()
def submits_then_reads(x):
    return child.submit(x).result() + 1


@cf.workflow()
def reads(handle):
    return handle.result()


@cf.workflow()
def polls(handle):
    return handle.poll(default="not yet")


@cf.workflow()
def polls_child(x):
    return child.submit(x).poll(default="not yet")


@cf.workflow()
def cancels(handle):
    handle.cancel()
    return "sent"


@cf.workflow()
def suspends():
    cf.suspend(60)
"""


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from importable_module(tmp_path_factory, "worker_flows", FLOWS)


class FakeServer:
    """Accepts one worker, welcomes it, and lets a test exchange messages with it.

    Like the real server, it considers an execution assigned from its ``execute`` until it
    acknowledges its result, and lists those in its welcomes.
    """

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.received: list[dict[str, Any]] = []
        self.hellos: list[dict[str, Any]] = []
        self.assigned: set[str] = set()
        self.connected = asyncio.Event()
        self._websocket: ServerConnection | None = None

    async def handle(self, websocket: ServerConnection) -> None:
        hello = protocol.decode(await websocket.recv(), protocol.WORKER_MESSAGES)
        assert hello["type"] == "hello"
        self.hellos.append(hello)
        await websocket.send(json.dumps(self._welcome()))
        self._websocket = websocket
        self.connected.set()
        async for text in websocket:
            for message in protocol.messages_of(text):
                self.received.append(message)
                await self.inbox.put(message)

    def _welcome(self, executions: list[str] | None = None) -> dict[str, Any]:
        listed = sorted(self.assigned) if executions is None else executions
        return {
            "type": "welcome",
            "protocol": protocol.VERSION,
            "session": "S1",
            "executions": listed,
        }

    async def send(self, message: dict[str, Any]) -> None:
        assert self._websocket is not None
        await self._websocket.send(json.dumps(message))

    async def welcome(self, executions: list[str] | None = None) -> None:
        """Welcome the worker again on the live connection, as a restarted orchestrator does;
        by default listing the executions assigned."""
        await self.send(self._welcome(executions))

    async def ack(self, execution: str) -> None:
        self.assigned.discard(execution)
        await self.send({"type": "ack", "execution": execution})

    async def disconnect(self) -> None:
        assert self._websocket is not None
        self.connected.clear()
        await self._websocket.close()

    async def execute(self, flows: str, execution: str, target: str, *args: Any, **kw: Any) -> None:
        self.assigned.add(execution)
        await self.send(
            {
                "type": "execute",
                "execution": execution,
                "run": "R1",
                "workspace": "default",
                "module": flows,
                "target": target,
                "target_type": "task",
                "arguments": [serialize(argument) for argument in args],
                "timeout_ms": kw.get("timeout_ms", 0),
            }
        )

    async def next(self, kind: str, execution: str) -> dict[str, Any]:
        """The next message of ``kind`` about ``execution``; others are skipped."""

        async def find() -> dict[str, Any]:
            while True:
                message = await self.inbox.get()
                if message["type"] == kind and message.get("execution") == execution:
                    return message

        return await asyncio.wait_for(find(), REPLY_TIMEOUT)

    async def result(self, execution: str) -> dict[str, Any]:
        """The execution's result, acknowledged."""
        message = await self.next("result", execution)
        await self.ack(execution)
        return message["result"]

    async def value(self, execution: str) -> Any:
        result = await self.result(execution)
        assert result["type"] == "value", result
        return deserialize(result["value"])


Scenario = Callable[[FakeServer], Awaitable[None]]


def run_worker(
    flows: str,
    scenario: Scenario,
    *,
    fresh_executors: bool = False,
    accepts: dict[str, list[str]] | None = None,
    max_processes: int | None = None,
) -> None:
    """Run a worker of concurrency 1 through ``scenario``."""

    async def main() -> None:
        server = FakeServer()
        async with serve(server.handle, "127.0.0.1", 0) as listening:
            port = listening.sockets[0].getsockname()[1]
            worker = Worker(
                url=f"ws://127.0.0.1:{port}/api/projects/default/worker",
                workspace="default",
                modules=[flows],
                concurrency=1,
                provides={},
                session=None,
                drain_timeout=5,
                token=None,
                fresh_executors=fresh_executors,
                accepts=accepts,
                max_processes=max_processes,
            )
            running = asyncio.create_task(worker.run())
            try:
                await asyncio.wait_for(server.connected.wait(), REPLY_TIMEOUT)
                await scenario(server)
            finally:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)

    asyncio.run(main())


async def started(server: FakeServer, execution: str) -> tuple[int, str]:
    """The process and working directory of a ``sleepy`` execution, from its output."""
    line = (await server.next("log", execution))["entries"][0][2]
    pid, directory = line.split(" ", 1)
    return int(pid), directory


async def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (and been reaped by the zygote) within a few seconds."""
    for _ in range(500):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        await asyncio.sleep(0.01)
    return False


def test_executions_in_a_row_reuse_one_process_each_in_its_own_directory(flows):
    seen: list[list[Any]] = []

    async def scenario(server: FakeServer) -> None:
        for n in (1, 2):
            await server.execute(flows, f"R1:{n}:1", "where")
            log = await server.next("log", f"R1:{n}:1")
            seen.append([*await server.value(f"R1:{n}:1"), log["entries"][0][2]])
        # What the first execution changed in the environment was undone for the next one.
        await server.execute(flows, "R1:3:1", "environment")
        assert await server.value("R1:3:1") is None

    run_worker(flows, scenario)

    (first_pid, first_dir, first_log), (second_pid, second_dir, second_log) = seen
    assert first_pid == second_pid != os.getpid()
    assert first_dir != second_dir
    assert (first_log, second_log) == (f"in {first_dir}", f"in {second_dir}")
    assert not os.path.exists(first_dir) and not os.path.exists(second_dir)


def test_a_timed_out_execution_has_its_process_killed_and_replaced(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "sleepy", 60, timeout_ms=2000)
        pid, directory = await started(server, "R1:1:1")
        assert await server.result("R1:1:1") == {"type": "timeout"}
        await server.execute(flows, "R1:2:1", "sleepy", 0)
        replacement = await server.value("R1:2:1")
        assert replacement != pid
        assert await gone(pid)
        # The working directory it was killed in is removed too.
        for _ in range(500):
            if not os.path.exists(directory):
                break
            await asyncio.sleep(0.01)
        assert not os.path.exists(directory)

    run_worker(flows, scenario)


def test_an_aborted_execution_has_its_process_killed_and_sends_no_result(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "sleepy", 60)
        pid, _ = await started(server, "R1:1:1")
        await server.send({"type": "abort", "execution": "R1:1:1"})
        await server.execute(flows, "R1:2:1", "sleepy", 0)
        assert await server.value("R1:2:1") != pid
        assert await gone(pid)
        results = [
            message["execution"] for message in server.received if message["type"] == "result"
        ]
        assert results == ["R1:2:1"]

    run_worker(flows, scenario)


def test_a_process_dying_mid_execution_abandons_it_and_is_replaced(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "dies")
        assert await server.result("R1:1:1") == {"type": "abandoned"}
        await server.execute(flows, "R1:2:1", "sleepy", 0)
        assert isinstance(await server.value("R1:2:1"), int)

    run_worker(flows, scenario)


def test_a_process_whose_execution_left_a_thread_running_is_not_reused(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "leaves_a_thread")
        pid = await server.value("R1:1:1")
        await server.execute(flows, "R1:2:1", "sleepy", 0)
        assert await server.value("R1:2:1") != pid

    run_worker(flows, scenario)


def test_fresh_executors_run_each_execution_in_a_new_process(flows):
    async def scenario(server: FakeServer) -> None:
        pids = []
        for n in (1, 2):
            await server.execute(flows, f"R1:{n}:1", "sleepy", 0)
            pids.append(await server.value(f"R1:{n}:1"))
        assert pids[0] != pids[1]

    run_worker(flows, scenario, fresh_executors=True)


def test_a_wait_for_a_child_asks_for_no_reply_until_the_connection_is_lost(flows):
    """The server pushes children's results to their parents; after a reconnect it is asked."""

    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "submits_then_reads", 41)
        submit = await server.next("submit", None)
        assert (submit["parent"], submit["wait"]) == ("R1:1:1", False)
        await server.send(
            {"type": "submitted", "ref": submit["ref"], "execution": "R1:2:1", "step": "R1:2"}
        )
        wait = await server.next("wait", "R1:1:1")
        assert (wait["targets"], wait["reply"]) == (["R1:2:1"], False)

        await server.disconnect()
        await asyncio.wait_for(server.connected.wait(), REPLY_TIMEOUT)
        wait = await server.next("wait", "R1:1:1")
        assert (wait["targets"], wait["reply"]) == (["R1:2:1"], True)

        result = {"type": "value", "value": serialize(41)}
        await server.send(
            {"type": "resolved", "execution": "R1:1:1", "target": "R1:2:1", "result": result}
        )
        assert await server.value("R1:1:1") == 42

    run_worker(flows, scenario)


def test_a_wait_for_a_child_called_directly_is_not_sent(flows):
    """Its submit asked to wait, so the server recorded the dependency with the call."""

    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "parent", 41)
        submit = await server.next("submit", None)
        assert submit["wait"] is True
        await server.send(
            {"type": "submitted", "ref": submit["ref"], "execution": "R1:2:1", "step": "R1:2"}
        )
        result = {"type": "value", "value": serialize(41)}
        await server.send(
            {"type": "resolved", "execution": "R1:1:1", "target": "R1:2:1", "result": result}
        )
        assert await server.value("R1:1:1") == 42
        assert [m for m in server.received if m["type"] == "wait"] == []

    run_worker(flows, scenario)


def test_a_wait_for_another_execution_asks_for_a_reply(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "reads", Execution.reference("R0:1:1", "m", "t"))
        wait = await server.next("wait", "R1:1:1")
        assert (wait["targets"], wait["reply"]) == (["R0:1:1"], True)
        result = {"type": "value", "value": serialize(5)}
        await server.send(
            {"type": "resolved", "execution": "R1:1:1", "target": "R0:1:1", "result": result}
        )
        assert await server.value("R1:1:1") == 5

    run_worker(flows, scenario)


def test_hello_says_what_the_worker_provides_and_accepts(flows):
    async def scenario(server: FakeServer) -> None:
        (hello,) = server.hellos
        assert (hello["protocol"], hello["provides"], hello["accepts"]) == (
            protocol.VERSION,
            {},
            {"tier": ["batch", "bulk"]},
        )
        # Four times the concurrency by default.
        assert hello["max_processes"] == 4

    run_worker(flows, scenario, accepts={"tier": ["batch", "bulk"]})


def test_pending_replies_from_the_server_reach_the_execution(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "polls", Execution.reference("R0:1:1", "m", "t"))
        wait = await server.next("wait", "R1:1:1")
        assert (wait["targets"], wait["reply"]) == (["R0:1:1"], True)
        await server.send({"type": "pending", "execution": "R1:1:1", "targets": ["R0:1:1"]})
        assert await server.value("R1:1:1") == "not yet"

    run_worker(flows, scenario)


def test_the_worker_replies_pending_itself_for_children_without_a_result(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "polls_child", 1)
        submit = await server.next("submit", None)
        await server.send(
            {"type": "submitted", "ref": submit["ref"], "execution": "R1:2:1", "step": "R1:2"}
        )
        wait = await server.next("wait", "R1:1:1")
        assert (wait["targets"], wait["reply"]) == (["R1:2:1"], False)
        assert await server.value("R1:1:1") == "not yet"

    run_worker(flows, scenario)


def test_a_wait_for_an_unknown_execution_fails_instead_of_hanging(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "reads", Execution.reference("R0:9:1", "m", "t"))
        await server.next("wait", "R1:1:1")
        error = {"type": "error", "error": "unknown_execution", "message": "no execution R0:9:1"}
        await server.send({**error, "execution": "R1:1:1", "target": "R0:9:1"})
        result = await server.result("R1:1:1")
        assert result["type"] == "error"
        assert result["error"]["type"] == "builtins.LookupError"

    run_worker(flows, scenario)


def test_cancels_are_passed_on(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "cancels", Execution.reference("R0:1:1", "m", "t"))
        cancel = await server.next("cancel", "R1:1:1")
        assert cancel == {"type": "cancel", "execution": "R1:1:1", "targets": ["R0:1:1"]}
        assert await server.value("R1:1:1") == "sent"

    run_worker(flows, scenario)


def test_a_suspended_result_is_sent_again_until_acknowledged(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "suspends")
        message = await server.next("result", "R1:1:1")
        assert (message["result"]["type"], message["result"]["dependencies"]) == ("suspended", [])
        assert message["result"]["after"] > 0

        await server.disconnect()
        await asyncio.wait_for(server.connected.wait(), REPLY_TIMEOUT)
        assert await server.result("R1:1:1") == message["result"]

    run_worker(flows, scenario)


def test_a_welcome_on_a_live_connection_has_unacknowledged_results_sent_again(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "sleepy", 0)
        first = await server.next("result", "R1:1:1")
        # The orchestrator restarted before storing it, and welcomes the worker again.
        await server.welcome()
        assert await server.result("R1:1:1") == first["result"]

    run_worker(flows, scenario)


def test_a_welcome_forgets_results_it_does_not_list_and_declines_what_never_came(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "sleepy", 0)
        await server.next("result", "R1:1:1")
        # Stored, but the ack was lost with the orchestrator; it assigned R1:9:1 and died
        # before sending it.
        server.assigned = {"R1:9:1"}
        await server.welcome()
        declined = await server.next("declined", "R1:9:1")
        assert declined == {"type": "declined", "execution": "R1:9:1"}

        await server.disconnect()
        await asyncio.wait_for(server.connected.wait(), REPLY_TIMEOUT)
        await server.execute(flows, "R1:2:1", "sleepy", 0)
        await server.value("R1:2:1")
        results = [m["execution"] for m in server.received if m["type"] == "result"]
        assert results == ["R1:1:1", "R1:2:1"]
        # R1:9:1 is declined again on each welcome that lists it.
        assert [m for m in server.received if m["type"] == "declined"] == [declined] * 2

    run_worker(flows, scenario)


def test_heartbeats_list_finished_executions_until_their_results_are_acknowledged(
    flows, monkeypatch
):
    monkeypatch.setattr("coflux._worker.HEARTBEAT_INTERVAL", 0.1)

    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "sleepy", 0)
        await server.next("result", "R1:1:1")
        heartbeat = await server.next("heartbeat", None)
        assert heartbeat["executions"] == ["R1:1:1"]
        await server.ack("R1:1:1")
        for _ in range(50):
            heartbeat = await server.next("heartbeat", None)
            if heartbeat["executions"] == []:
                break
        assert heartbeat["executions"] == []

    run_worker(flows, scenario)


def test_after_a_welcome_a_running_execution_goes_on_with_its_calls_and_waits_sent_again(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "submits_then_reads", 41)
        submit = await server.next("submit", None)
        await server.welcome()
        again = await server.next("submit", None)
        assert again == submit
        await server.send(
            {"type": "submitted", "ref": submit["ref"], "execution": "R1:2:1", "step": "R1:2"}
        )
        wait = await server.next("wait", "R1:1:1")
        assert wait["reply"] is False
        # Blocked on its child past a moment: it no longer counts against the concurrency.
        assert (await server.next("waiting", "R1:1:1"))["waiting"] is True

        await server.welcome()
        assert (await server.next("waiting", "R1:1:1"))["waiting"] is True
        wait = await server.next("wait", "R1:1:1")
        assert (wait["targets"], wait["reply"]) == (["R1:2:1"], True)
        result = {"type": "value", "value": serialize(41)}
        await server.send(
            {"type": "resolved", "execution": "R1:1:1", "target": "R1:2:1", "result": result}
        )
        assert (await server.next("waiting", "R1:1:1"))["waiting"] is False
        assert await server.value("R1:1:1") == 42
        assert not [m for m in server.received if m["type"] == "declined"]

    run_worker(flows, scenario)


def test_a_blocked_execution_makes_room_up_to_max_processes(flows):
    async def scenario(server: FakeServer) -> None:
        await server.execute(flows, "R1:1:1", "reads", Execution.reference("R0:1:1", "m", "t"))
        assert (await server.next("waiting", "R1:1:1"))["waiting"] is True
        # Concurrency 1, one blocked: another runs beside it, and a third must wait for a
        # process, since two is the most there may be.
        await server.execute(flows, "R1:2:1", "sleepy", 0.5)
        await server.execute(flows, "R1:3:1", "sleepy", 0)
        await server.next("started", "R1:2:1")
        await server.value("R1:2:1")
        await server.value("R1:3:1")
        kinds = [(m["type"], m.get("execution")) for m in server.received]
        assert kinds.index(("started", "R1:3:1")) > kinds.index(("result", "R1:2:1"))

        result = {"type": "value", "value": serialize(5)}
        await server.send(
            {"type": "resolved", "execution": "R1:1:1", "target": "R0:1:1", "result": result}
        )
        assert await server.value("R1:1:1") == 5

    run_worker(flows, scenario, max_processes=2)
