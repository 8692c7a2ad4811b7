"""Poison: while a fan-out runs, another connection sends every kind of malformed message that
once failed the orchestrator's tick (NUL text, numbers no column holds, non-finite floats,
dates past 9999, integers beyond 64 bits, deep nesting). Each is answered with an error to its
sender alone; the run succeeds and nothing is abandoned.

The raw client is a worker of its own, declaring the fan-out's task, so that the messages about
an execution concern one it really runs, as a buggy or hostile worker's would.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from coflux_wire import protocol
from tests.e2e.support import executions, value_of
from tests.processes import AUTH, Server

pytestmark = pytest.mark.e2e

MODULE = "tests.e2e.flows.poison"
TASKS = 300


def hello(**fields: Any) -> dict[str, Any]:
    return {
        "type": "hello",
        "protocol": protocol.VERSION,
        "workspace": "default",
        "session": None,
        "concurrency": 2,
        "provides": {},
        "accepts": {},
        "targets": [{"module": MODULE, "name": "square", "type": "task"}],
        **fields,
    }


def log(execution: str, *entries: str) -> str:
    """A log message whose entries are given as JSON text, to hold what ``json`` won't write."""
    return f'{{"type":"log","execution":"{execution}","entries":[{",".join(entries)}]}}'


def inline(data: str) -> str:
    return f'{{"type":"inline","format":"json","data":{data},"refs":[]}}'


def suspended(execution: str, after: str) -> str:
    result = f'{{"type":"suspended","after":{after},"dependencies":[]}}'
    return f'{{"type":"result","execution":"{execution}","result":{result}}}'


ANY_TIME = "1700000000000"

POISON = {
    "NUL in a cancel target": json.dumps(
        {"type": "cancel", "execution": "Rpoison:1:1", "targets": ["\x00"]}
    ),
    "hello with concurrency 10**12": json.dumps(hello(concurrency=10**12)),
    "hello with concurrency beyond 64 bits": json.dumps(hello(concurrency=2**70)),
    "hello with max_processes 2**64 - 1": json.dumps(hello(max_processes=2**64 - 1)),
    "a frame nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
}
"""Sent as soon as the run starts; ``POISON_ABOUT`` is sent about the client's first execution."""

POISON_ABOUT = {
    "NUL in a log template": lambda e: log(e, f'[{ANY_TIME},2,"a\\u0000b",{{}}]'),
    "log timestamp 1e30": lambda e: log(e, '[1e30,2,"x",{}]'),
    "log timestamp 2**63": lambda e: log(e, f'[{2**63},2,"x",{{}}]'),
    "log timestamp NaN": lambda e: log(e, '[NaN,2,"x",{}]'),
    "NaN inside log values": lambda e: log(e, f'[{ANY_TIME},2,"x",{{"v":{inline("NaN")}}}]'),
    "an integer beyond 64 bits in log values": lambda e: log(
        e, f'[{ANY_TIME},2,"x",{{"v":{inline(str(2**70))}}}]'
    ),
    "1000-deep log values": lambda e: log(
        e, f'[{ANY_TIME},2,"x",{{"v":{inline("[" * 1000 + "]" * 1000)}}}]'
    ),
    "suspended with after 1e30": lambda e: suspended(e, "1e30"),
    "suspended with after beyond 64 bits": lambda e: suspended(e, str(2**64)),
}


class RawWorker:
    """A worker speaking the protocol by hand: it squares what it is given, and sends poison."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.unread: list[dict[str, Any]] = []
        self.assigned: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.ws.send(json.dumps(hello()))
        assert self.next()["type"] == "welcome"

    def next(self, timeout: float = 10) -> dict[str, Any]:
        if not self.unread:
            self.unread.extend(protocol.messages_of(self.ws.recv(timeout=timeout)))
        return self.unread.pop(0)

    def take(self, timeout: float = 10) -> dict[str, Any]:
        """The next message, keeping executions to run for later."""
        message = self.next(timeout)
        if message["type"] == "execute":
            self.assigned.append(message)
        return message

    def refused(self, frame: str) -> dict[str, Any]:
        """Send a malformed frame; return the error it is answered with."""
        self.ws.send(frame)
        while (message := self.take())["type"] != "error":
            pass
        self.errors.append(message)
        return message

    def run_assigned(self) -> None:
        while self.assigned:
            execute = self.assigned.pop(0)
            execution, argument = execute["execution"], execute["arguments"][0]
            square = {"type": "inline", "format": "json", "data": argument["data"] ** 2, "refs": []}
            self.ws.send(
                json.dumps(
                    [
                        {"type": "started", "execution": execution},
                        {
                            "type": "result",
                            "execution": execution,
                            "result": {"type": "value", "value": square},
                        },
                    ]
                )
            )


def finished(server: Server, run_id: str) -> bool:
    return server.result(run_id, wait=0)["status"] not in ("queued", "running")


def test_malformed_messages_from_another_connection_harm_no_run(server, start_worker):
    worker = start_worker(server, MODULE, concurrency=8)
    with connect(
        f"ws://{server.host}/api/projects/default/worker", additional_headers=AUTH, open_timeout=10
    ) as ws:
        raw = RawWorker(ws)
        run_id = server.submit(MODULE, "squares", TASKS)
        for name, frame in POISON.items():
            assert raw.refused(frame)["error"] == "invalid_message", name
        ran_by_raw: list[str] = []
        deadline = time.monotonic() + 120
        while not finished(server, run_id):
            assert time.monotonic() < deadline, "the run did not finish"
            if raw.assigned and not ran_by_raw:
                first = raw.assigned[0]["execution"]
                for name, frame in POISON_ABOUT.items():
                    error = raw.refused(frame(first))
                    assert error["error"] == "invalid_message", (name, error)
            ran_by_raw += [e["execution"] for e in raw.assigned]
            raw.run_assigned()
            try:
                raw.take(timeout=0.2)
            except TimeoutError:
                pass

    result = server.result(run_id)
    assert value_of(result) == sum(i * i for i in range(TASKS))
    assert ran_by_raw, "the raw worker was given no execution to speak about"
    assert len(raw.errors) == len(POISON) + len(POISON_ABOUT)
    squares = executions(server.run(run_id), "square")
    assert len(squares) == TASKS
    assert {(e["attempt"], e["state"]) for e in squares} == {(1, "succeeded")}
    assert "Traceback" not in server.log.read_text()
    assert "invalid_message" not in worker.output()  # the errors went to their sender alone
