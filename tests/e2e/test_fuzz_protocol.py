"""A fuzz of the worker protocol against a real server: random and mutated messages over a
real websocket, from a connection that said hello. The server answers, keeps the connection,
never fails a tick, and its memory stays bounded."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coflux_wire import protocol
from tests.e2e.test_protocol import hello, receive, worker_socket
from tests.fuzzing import examples
from tests.processes import Server
from tests.wire.test_fuzz import MESSAGES

pytestmark = pytest.mark.e2e

RSS_GROWTH_LIMIT_KB = 64 * 1024
FAILED_TICK = "applying them one by one"
"""What the server logs when an envelope fails a tick (see runs.orchestration.orchestrator)."""


def rss_kb(server: Server) -> int:
    status = f"/proc/{server.process.pid}/status"
    with open(status) as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))


@pytest.fixture(scope="module")
def connection(server):
    with worker_socket(server) as ws:
        ws.send(json.dumps(hello()))
        assert receive(ws)["type"] == "welcome"
        yield ws


@pytest.fixture(scope="module")
def baseline(server):
    return rss_kb(server)


@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(MESSAGES, min_size=1, max_size=4))
def test_any_frame_of_messages_is_answered_and_the_connection_kept(
    server, connection, baseline, messages
):
    if any(_other_version(message) for message in messages):
        return  # ends the connection by design (tests/e2e/test_protocol.py)
    try:
        frame = json.dumps(messages if len(messages) > 1 else messages[0], allow_nan=True)
    except (TypeError, ValueError):
        return
    connection.send(frame)
    # Whatever the server made of the frame, the connection still works.
    assert connection.ping().wait(10)
    drain(connection)


def _other_version(message: object) -> bool:
    """A hello of another protocol version, which the server answers by closing."""
    return (
        isinstance(message, dict)
        and message.get("type") == "hello"
        and message.get("protocol") != protocol.VERSION
    )


def drain(ws) -> None:
    """Read the replies so far (errors, mostly), so that they do not pile up unread."""
    while True:
        try:
            ws.recv(timeout=0.05)
        except TimeoutError:
            return


def test_no_tick_failed_and_memory_stayed_bounded(server, connection, baseline):
    assert FAILED_TICK not in server.log.read_text()
    assert "Traceback" not in server.log.read_text()
    assert rss_kb(server) - baseline < RSS_GROWTH_LIMIT_KB
