"""What the protocol boundary accepts from a worker, and what it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coflux_wire import protocol, validation
from tests.wire.messages import EXECUTION, RESULTS, VALID, valid, value


@pytest.mark.parametrize("kind", sorted(VALID))
def test_it_accepts_each_message_as_the_sdk_writes_it(kind):
    message = valid(kind)
    assert protocol.decode(json.dumps(message), protocol.WORKER_MESSAGES) == message


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r["type"])
def test_it_accepts_each_kind_of_result(result):
    assert protocol.validate(valid("result", result=result))


def test_it_accepts_the_boundaries_of_each_range():
    assert protocol.validate(valid("hello", concurrency=0, max_processes=2**31 - 1))
    entries = [
        [0, 0, "", {}],
        [validation.MAX_TIMESTAMP_MS - 1, 5, "x", {}],
        [1.7e12, 3, "float milliseconds", {}],
    ]
    assert protocol.validate(valid("log", entries=entries))
    big = value([2**63 - 1, -(2**63), 1e308])
    assert protocol.validate(valid("result", result={"type": "value", "value": big}))


def nested(levels: int) -> Any:
    data: Any = 0
    for _ in range(levels):
        data = [data]
    return data


def refused(message: dict[str, Any]) -> str:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.validate(message, protocol.WORKER_MESSAGES)
    return str(caught.value)


NUL = "a\x00b"
REFUSED = {
    # Text the database cannot hold.
    "NUL in a cancel target": valid("cancel", targets=["\x00"]),
    "NUL in a log template": valid("log", entries=[[0, 2, NUL, {}]]),
    "NUL in a module": valid("submit", module=NUL),
    "NUL in a value's data": valid("result", result={"type": "value", "value": value([NUL])}),
    "NUL in an object key": valid("result", result={"type": "value", "value": {NUL: 1}}),
    "NUL in a tag": valid("hello", provides={"gpu": [NUL]}),
    "NUL in an error message": valid(
        "result", result={**RESULTS[0], "error": {**RESULTS[0]["error"], "message": NUL}}
    ),
    "a lone surrogate": valid("log", entries=[[0, 2, "\ud800", {}]]),
    # Integers.
    "concurrency 10**12": valid("hello", concurrency=10**12),
    "negative concurrency": valid("hello", concurrency=-1),
    "max_processes beyond 32 bits": valid("hello", max_processes=2**31),
    "a group beyond 32 bits": valid("submit", group=2**40),
    "an integer beyond 64 bits in data": valid(
        "result", result={"type": "value", "value": value(2**64)}
    ),
    "a boolean for an integer": valid("hello", concurrency=True),
    # Floats and times.
    "NaN in log values": valid("log", entries=[[0, 2, "x", {"v": value(float("nan"))}]]),
    "infinity in data": valid("result", result={"type": "value", "value": value(float("inf"))}),
    "log timestamp 1e30": valid("log", entries=[[1e30, 2, "x", {}]]),
    "log timestamp 2**63": valid("log", entries=[[2**63 - 1, 2, "x", {}]]),
    "log timestamp NaN": valid("log", entries=[[float("nan"), 2, "x", {}]]),
    "a log timestamp before 1970": valid("log", entries=[[-1, 2, "x", {}]]),
    "a log level out of range": valid("log", entries=[[0, 6, "x", {}]]),
    "suspended after 1e30": valid("result", result={"type": "suspended", "after": 1e30}),
    "suspended after year 9999": valid(
        "result", result={"type": "suspended", "after": validation.MAX_TIMESTAMP_MS}
    ),
    "a delay of a million years": valid(
        "submit", options={"delay_ms": validation.MAX_DURATION_MS + 1}
    ),
    "a cache age of minus one": valid("submit", options={"cache": {"max_age_ms": -1}}),
    "a timeout as a float": valid("submit", options={"timeout_ms": 1.5}),
    # Sizes and nesting.
    "1000-deep data": valid("result", result={"type": "value", "value": value(nested(1000))}),
    "too many targets": valid("wait", targets=["Rbcd23:1:1"] * (validation.MAX_ITEMS + 1)),
    "too many log entries": valid("log", entries=[[0, 1, "x", {}]] * 1001),
    "too many points": valid("metric", definitions=[], points=[["k", 1, 2]] * 1001),
    "a module too long for its column": valid("submit", module="m" * 256),
    "a ref too long for its column": valid("submit", ref="r" * 65),
    # Shapes the orchestrator relies on.
    "a log entry of three items": valid("log", entries=[[0, 2, "x"]]),
    "log values that are not an object": valid("log", entries=[[0, 2, "x", []]]),
    "a log value that is not a value": valid("log", entries=[[0, 2, "x", {"v": 3}]]),
    "an execution that is not an identifier": valid("started", execution="Rx:0:1"),
    "a parent that is not an identifier": valid("submit", parent="nope"),
    "an empty target name": valid("submit", target=""),
    "an unknown target type": valid("submit", target_type="sensor"),
    "an argument outside the wire format": valid("submit", arguments=[1]),
    "a blob without a key": valid("submit", arguments=[{"type": "blob", "size": 1}]),
    "an unknown reference": valid(
        "result", result={"type": "value", "value": value(None, [{"type": "pickle"}])}
    ),
    "a declared target without a type": valid("hello", targets=[{"module": "m", "name": "t"}]),
    "tags that are not lists": valid("hello", accepts={"gpu": "a100"}),
    "requires that are not lists": valid("submit", options={"requires": {"gpu": 1}}),
    "an error without a type": valid("result", result={"type": "error", "error": {}}),
    "an error type too long": valid(
        "result", result={**RESULTS[0], "error": {**RESULTS[0]["error"], "type": "x" * 256}}
    ),
    "a frame without a file": valid(
        "result",
        result={**RESULTS[0], "error": {**RESULTS[0]["error"], "frames": [{"line": 1}]}},
    ),
    "an unknown result type": valid("result", result={"type": "exploded"}),
    "a suspension depending on numbers": valid(
        "result", result={"type": "suspended", "after": None, "dependencies": [1]}
    ),
    "a heartbeat of garbage": valid("heartbeat", executions=["x" * 100]),
}


@pytest.mark.parametrize("message", REFUSED.values(), ids=REFUSED.keys())
def test_it_refuses_what_the_database_or_the_orchestrator_cannot_take(message):
    assert message["type"] in refused(message)


def test_a_workspace_that_is_not_a_name_is_refused_with_its_own_code():
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.validate(valid("hello", workspace="Not a name!"))
    assert caught.value.code == "invalid_workspace"
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.validate(valid("hello", concurrency=-1))
    assert caught.value.code == "invalid_message"


def test_server_messages_are_checked_for_their_fields_only():
    execute = {
        "type": "execute",
        "execution": EXECUTION,
        "run": "Rbcd23",
        "workspace": "default",
        "module": "m",
        "target": "t\x00",
        "target_type": "task",
        "arguments": [value(2**70)],
        "timeout_ms": 0,
    }
    assert protocol.validate(execute, protocol.SERVER_MESSAGES)


# --- frames ------------------------------------------------------------------------------------


def heartbeat_frame(executions: str) -> str:
    return '{"type":"heartbeat","executions":' + executions + "}"


@pytest.mark.parametrize("levels", [1000, 100_000])
def test_deeply_nested_json_is_refused_without_recursion(levels):
    text = heartbeat_frame("[" * levels + "]" * levels)
    with pytest.raises(protocol.ProtocolError):
        protocol.validate(protocol.messages_of(text)[0])
    objects = '{"a":' * levels + "1" + "}" * levels
    with pytest.raises(protocol.ProtocolError):
        protocol.validate(protocol.messages_of(heartbeat_frame(objects))[0])


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_json_does_not_have_are_refused(literal):
    with pytest.raises(protocol.ProtocolError, match="invalid JSON"):
        protocol.messages_of(f'{{"type":"log","execution":"{EXECUTION}","entries":[{literal}]}}')


@pytest.mark.parametrize("number", [2**63, 2**64, 2**70, -(2**63) - 1, 10**30, -(10**400)], ids=str)
def test_integers_beyond_64_bits_are_refused_not_rounded(number):
    text = json.dumps(valid("result", result={"type": "value", "value": value(number)}))
    for frame in (text, text.encode()):
        with pytest.raises(protocol.ProtocolError, match="64 bits|infinity"):
            protocol.validate(protocol.messages_of(frame)[0])


@pytest.mark.parametrize(
    "data",
    [
        "12345678901234567890123",
        'quote " and 99999999999999999999 inside',
        1.2345678901234567890123,
        1e25,
        -(2**63),
        2**63 - 1,
        [1, "\\", 12345678901234567890.5],
    ],
    ids=repr,
)
def test_long_digit_runs_that_are_not_integers_are_kept(data):
    text = json.dumps(valid("result", result={"type": "value", "value": value(data)}))
    (message,) = protocol.messages_of(text)
    assert protocol.validate(message)["result"]["value"]["data"] == data


def test_frames_are_written_compactly_in_utf8_and_read_back():
    message = valid("log", entries=[[0, 2, "café ☕ \U0001f600", {}]])
    ((frame, count),) = protocol.encode_frames([message])
    assert count == 1 and '"café ☕ \U0001f600"' in frame and ", " not in frame
    assert protocol.messages_of(frame) == [message]
    assert protocol.messages_of(frame.encode()) == [message]


def test_what_orjson_cannot_write_is_still_written():
    message = {"type": "resolved", "execution": EXECUTION, "target": "x", "result": {1: 2**70}}
    assert json.loads(protocol.encode(message)) == {**message, "result": {"1": 2**70}}
