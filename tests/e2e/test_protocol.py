"""The worker websocket answers bad input with errors and keeps serving."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from coflux_wire import protocol
from tests.processes import AUTH

pytestmark = pytest.mark.e2e


def worker_socket(server, project="default"):
    return connect(
        f"ws://{server.host}/api/projects/{project}/worker",
        additional_headers=AUTH,
        open_timeout=10,
    )


def hello(**overrides):
    return {
        "type": "hello",
        "protocol": protocol.VERSION,
        "workspace": "default",
        "session": None,
        "concurrency": 1,
        "provides": {},
        "accepts": {},
        "targets": [{"module": "m", "name": "t", "type": "task"}],
        **overrides,
    }


_unread: dict[int, list] = {}


def receive(ws):
    """The next message from the server; a frame may hold several."""
    unread = _unread.setdefault(id(ws), [])
    if not unread:
        unread.extend(protocol.messages_of(ws.recv(timeout=10)))
    return unread.pop(0)


def test_it_answers_garbage_with_errors_and_keeps_the_connection(server):
    with worker_socket(server) as ws:
        ws.send("{not json")
        assert receive(ws)["error"] == "invalid_message"
        ws.send(json.dumps({"type": "launch_missiles"}))
        error = receive(ws)
        assert error["error"] == "invalid_message" and "launch_missiles" in error["message"]
        ws.send(json.dumps({"type": "submit", "ref": 1}))
        assert receive(ws)["error"] == "invalid_message"
        ws.send(json.dumps({"type": "heartbeat", "executions": []}))
        assert receive(ws)["error"] == "not_ready"
        ws.send(json.dumps(hello()))
        welcome = receive(ws)
        assert welcome["type"] == "welcome" and welcome["session"]


def test_it_takes_several_messages_in_a_frame_and_answers_each_bad_one(server):
    with worker_socket(server) as ws:
        ws.send("[]")
        assert receive(ws)["error"] == "invalid_message"
        ws.send(json.dumps([{"type": "launch_missiles"}, hello(), {"type": "heartbeat"}]))
        assert "launch_missiles" in receive(ws)["message"]
        # The welcome comes from the orchestrator, after the consumer's own answers maybe.
        replies = sorted((receive(ws), receive(ws)), key=lambda m: m["type"])
        assert [m["type"] for m in replies] == ["error", "welcome"]
        assert "heartbeat" in replies[0]["message"]
        ws.send(json.dumps([{"type": "heartbeat", "executions": []}, {"type": "draining"}]))
        ws.send(json.dumps({"type": "heartbeat", "executions": 3}))
        assert receive(ws)["error"] == "invalid_message"


def test_it_refuses_a_worker_declaring_garbage_targets(server):
    with worker_socket(server) as ws:
        ws.send(json.dumps(hello(targets=[{"module": 3}])))
        error = receive(ws)
        assert error["error"] == "invalid_message" and "target" in error["message"]
        ws.send(json.dumps(hello(workspace="Not a name!")))
        assert receive(ws)["error"] == "invalid_workspace"


def test_it_refuses_another_protocol_version(server):
    with worker_socket(server) as ws:
        ws.send(json.dumps(hello(protocol=protocol.VERSION + 1)))
        assert receive(ws)["error"] == "version_mismatch"


def test_it_refuses_an_unknown_project(server):
    with worker_socket(server, project="nope") as ws:
        assert receive(ws)["error"] == "project_not_found"


def test_it_refuses_calls_from_executions_the_worker_does_not_run(server):
    with worker_socket(server) as ws:
        ws.send(json.dumps(hello()))
        receive(ws)
        ws.send(
            json.dumps(
                {
                    "type": "submit",
                    "ref": "1",
                    "parent": "Rnope:1:1",
                    "module": "m",
                    "target": "t",
                    "target_type": "task",
                    "arguments": [],
                    "options": {},
                    "group": None,
                    "wait": False,
                }
            )
        )
        error = receive(ws)
        assert error["error"] == "invalid_submit" and error["ref"] == "1"
