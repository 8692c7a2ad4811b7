"""The worker protocol: every message between a worker and the server.

Messages are JSON objects sent in websocket text frames. Each has a ``type`` and the fields
listed in its ``TypedDict`` below. A frame holds one message, or several as a JSON array,
applied in order: messages that leave together travel in one frame (see ``encode_frames``).
The same shapes travel between the worker's connection process and its executor processes, so
one module describes both hops.

Identifiers are strings: runs ``R…``, steps ``<run>:<n>``, executions ``<run>:<n>:<attempt>``,
inputs (questions for people, see ``submit_input``) ``<run>/i<n>``.

``validate`` checks a worker's messages through (``coflux_wire.validation``): what it accepts
can be applied and stored as it is, so the server checks nothing again.

Values (arguments and results) use the value format of ``coflux._serialization``::

    {"type": "inline", "format": "json", "data": <json with typed wrappers>, "refs": [...]}

Results are one of::

    {"type": "value", "value": <value>}
    {"type": "error", "error": {"type": "pkg.mod.Error", "message": str,
                                "frames": [{"file", "line", "name", "code"}],
                                "retryable": bool|None}}
    {"type": "abandoned"} | {"type": "cancelled"} | {"type": "timeout"}
    {"type": "suspended", "after": <epoch ms>|None, "dependencies": [<execution or input id>]}

The result of an input, as ``resolved`` carries it, is ``{"type": "value", "value": <value>}``
(the response), ``{"type": "dismissed"}`` or ``{"type": "cancelled"}``.

``suspended`` is only ever sent by a worker: the execution stopped itself (``cf.suspend``, or a
``cf.suspense`` wait that ran out) and wants a new attempt, started from the top once ``after``
has passed and, if ``dependencies`` is not empty, once one of them has a result. Results the
server sends are always final: it follows retries, re-runs, spawned runs and other forwards
itself.

Worker → server
    hello       first message: who the worker is and what it hosts
    started     an execution began running in an executor process
    submit      an execution calls a task or workflow (a new step)
    submit_input  an execution asks people a question (an input); ``key`` makes it the run's
                existing input with that key, if any
    wait        an execution waits for (or has read) other executions' results or inputs'
                answers
    cancel      an execution cancels other executions (and their descendants) or inputs
    result      an execution finished; the server replies ``ack`` once it is stored
    log         captured output and log lines of an execution
    metric      metric definitions and points of an execution (see ``coflux._metrics``)
    heartbeat   the executions the worker is running right now
    waiting     an execution is blocked waiting for results (or runs again)
    declined    an execution ``welcome`` listed that this worker never received (the server
                died between assigning it and sending ``execute``): queue it again
    draining    the worker takes no new work

Concurrency counts executions that are actually running: one blocked waiting for results (a
``waiting`` with ``waiting: true`` until the matching ``false``) does not count, so the work it
waits for can start on the same worker. ``hello``'s optional ``max_processes`` (0: no cap)
bounds the executions assigned to the session, blocked or not; without it, the cap is the
concurrency.

A ``metric`` message carries the definitions of series first recorded since the previous one,
then points, each ``[key, value, at]`` (finite numbers; ``at`` in seconds)::

    {"type": "metric", "execution": "R…:1:1",
     "definitions": [{"key": "loss", "throttle": 10,
                      "group": {"name", "units", "lower", "upper"} | None,
                      "scale": {"name", "units", "progress", "lower", "upper"} | None}],
     "points": [["loss", 0.25, 1.5], …]}

Server → worker
    welcome     reply to ``hello``: the session and the executions still assigned to it; may
                come again at any time (the orchestrator restarted or moved): the worker then
                re-sends the results the server has not acknowledged for the listed executions,
                forgets the others' results, and declines listed ones it never received
    execute     run this execution
    submitted   reply to ``submit``: the identifiers of the new step and execution
    input_submitted  reply to ``submit_input``: the input's identifier
    resolved    a result the receiving execution waits for
    pending     reply to a ``wait`` asking for a reply: these targets have no result yet
    ack         a result is durably stored; the worker may forget it
    abort       stop this execution's process
    error       a message could not be handled (malformed, unknown type, bad input); the
                code ``workspace_archived`` ends the worker: its workspace is gone

A ``submit_input`` carries the prompt: a Markdown ``template`` whose placeholders
(``{name}``, ``{{name}}``, ``{{{name}}}``) name ``placeholders`` in the value format, and
optionally ``key``, a JSON ``schema`` the response must match, ``title``, ``actions`` (the
labels of the respond and dismiss buttons), ``initial`` (JSON the form starts with; only with a
schema) and ``requires`` (who may answer, as tags)::

    {"type": "submit_input", "ref": "7", "execution": "R…:1:1", "template": "Deploy {svc}?",
     "placeholders": {"svc": <value>}, "key": "…", "schema": {...} | None, "title": str | None,
     "actions": [respond, dismiss] | None, "initial": <json> | None, "requires": {...} | None}

An input is answered (or dismissed) once, from outside (the API, the CLI, Studio); an execution
waits for it as for an execution, and may suspend on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Literal, NotRequired, TypedDict

import orjson

from . import validation
from .validation import ProtocolError
from .values import MAX_INT, MIN_INT

VERSION = 5
"""Bumped on any incompatible change; ``hello`` carries it and the server refuses others."""

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The largest frame either side accepts."""


class TargetDeclaration(TypedDict):
    module: str
    name: str
    type: Literal["workflow", "task"]
    parameters: NotRequired[list[dict[str, Any]]]


# --- worker → server -------------------------------------------------------------------------


class Hello(TypedDict):
    type: Literal["hello"]
    protocol: int
    workspace: str
    session: str | None
    """None for a new session; to resume one, its token ``<session>.<secret>``."""
    concurrency: int
    provides: dict[str, list[str]]
    accepts: dict[str, list[str]]
    targets: list[TargetDeclaration]
    max_processes: NotRequired[int]


class Started(TypedDict):
    type: Literal["started"]
    execution: str


class Submit(TypedDict):
    type: Literal["submit"]
    ref: str
    parent: str
    module: str
    target: str
    target_type: Literal["workflow", "task"]
    arguments: list[dict[str, Any]]
    options: dict[str, Any]
    group: int | None
    group_name: NotRequired[str | None]
    wait: bool


class SubmitInput(TypedDict):
    type: Literal["submit_input"]
    ref: str
    execution: str
    template: str
    placeholders: dict[str, dict[str, Any]]
    key: NotRequired[str | None]
    schema: NotRequired[dict[str, Any] | None]
    title: NotRequired[str | None]
    actions: NotRequired[list[str] | None]
    initial: NotRequired[Any]
    requires: NotRequired[dict[str, list[str]] | None]


class Wait(TypedDict):
    type: Literal["wait"]
    execution: str
    targets: list[str]
    reply: bool


class Cancel(TypedDict):
    type: Literal["cancel"]
    execution: str
    targets: list[str]


class ResultMessage(TypedDict):
    type: Literal["result"]
    execution: str
    result: dict[str, Any]


class Log(TypedDict):
    type: Literal["log"]
    execution: str
    entries: list[list[Any]]


class MetricMessage(TypedDict):
    type: Literal["metric"]
    execution: str
    definitions: list[dict[str, Any]]
    points: list[list[Any]]


class Heartbeat(TypedDict):
    type: Literal["heartbeat"]
    executions: list[str]


class Waiting(TypedDict):
    type: Literal["waiting"]
    execution: str
    waiting: bool


class Declined(TypedDict):
    type: Literal["declined"]
    execution: str


class Draining(TypedDict):
    type: Literal["draining"]


# --- server → worker -------------------------------------------------------------------------


class Welcome(TypedDict):
    type: Literal["welcome"]
    protocol: int
    session: str
    executions: list[str]
    token: NotRequired[str]
    """``<session>.<secret>``, sent once, when the session is made: resuming it (``hello``'s
    ``session``) takes the whole token."""


class Execute(TypedDict):
    type: Literal["execute"]
    execution: str
    run: str
    workspace: str
    module: str
    target: str
    target_type: Literal["workflow", "task"]
    arguments: list[dict[str, Any]]
    timeout_ms: int


class Submitted(TypedDict):
    type: Literal["submitted"]
    ref: str
    execution: str
    step: str


class InputSubmitted(TypedDict):
    type: Literal["input_submitted"]
    ref: str
    input: str


class Resolved(TypedDict):
    type: Literal["resolved"]
    execution: str
    target: str
    result: dict[str, Any]


class Pending(TypedDict):
    type: Literal["pending"]
    execution: str
    targets: list[str]


class Ack(TypedDict):
    type: Literal["ack"]
    execution: str


class Abort(TypedDict):
    type: Literal["abort"]
    execution: str


class Error(TypedDict):
    type: Literal["error"]
    error: str
    message: str
    ref: NotRequired[str]
    execution: NotRequired[str]


_STR = str
_INT = int
_BOOL = bool
_LIST = list
_DICT = dict
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))

FIELDS: dict[str, dict[str, Any]] = {
    "hello": {
        "protocol": _INT,
        "workspace": _STR,
        "session": _OPT_STR,
        "concurrency": _INT,
        "provides": _DICT,
        "accepts": _DICT,
        "targets": _LIST,
    },
    "started": {"execution": _STR},
    "submit": {
        "ref": _STR,
        "parent": _STR,
        "module": _STR,
        "target": _STR,
        "target_type": _STR,
        "arguments": _LIST,
        "options": _DICT,
        "group": _OPT_INT,
        "wait": _BOOL,
    },
    "submit_input": {"ref": _STR, "execution": _STR, "template": _STR, "placeholders": _DICT},
    "wait": {"execution": _STR, "targets": _LIST, "reply": _BOOL},
    "cancel": {"execution": _STR, "targets": _LIST},
    "result": {"execution": _STR, "result": _DICT},
    "log": {"execution": _STR, "entries": _LIST},
    "metric": {"execution": _STR, "definitions": _LIST, "points": _LIST},
    "heartbeat": {"executions": _LIST},
    "waiting": {"execution": _STR, "waiting": _BOOL},
    "declined": {"execution": _STR},
    "draining": {},
    "welcome": {"protocol": _INT, "session": _STR, "executions": _LIST},
    "execute": {
        "execution": _STR,
        "run": _STR,
        "workspace": _STR,
        "module": _STR,
        "target": _STR,
        "target_type": _STR,
        "arguments": _LIST,
        "timeout_ms": _INT,
    },
    "submitted": {"ref": _STR, "execution": _STR, "step": _STR},
    "input_submitted": {"ref": _STR, "input": _STR},
    "resolved": {"execution": _STR, "target": _STR, "result": _DICT},
    "pending": {"execution": _STR, "targets": _LIST},
    "ack": {"execution": _STR},
    "abort": {"execution": _STR},
    "error": {"error": _STR, "message": _STR},
}
"""Required fields of each message type and the JSON types they must have."""

WORKER_MESSAGES = frozenset(
    {
        "hello",
        "started",
        "submit",
        "submit_input",
        "wait",
        "cancel",
        "result",
        "log",
        "metric",
        "heartbeat",
        "waiting",
        "declined",
        "draining",
    }
)
SERVER_MESSAGES = frozenset(
    {
        "welcome",
        "execute",
        "submitted",
        "input_submitted",
        "resolved",
        "pending",
        "ack",
        "abort",
        "error",
    }
)


def validate(message: Any, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """Check a decoded message; raise ``ProtocolError`` saying what is wrong.

    Every message needs its type's fields with the JSON types ``FIELDS`` gives. A worker's
    messages are checked through (``coflux_wire.validation``): one that passes can be applied
    and stored as it is.
    """
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in FIELDS:
        raise ProtocolError(f"unknown message type: {_shown(kind)}")
    if allowed is not None and kind not in allowed:
        raise ProtocolError(f"message type {kind!r} is not accepted here")
    for field, expected in FIELDS[kind].items():
        if field not in message:
            raise ProtocolError(f"{kind}: missing field {field!r}")
        value = message[field]
        if expected is _INT and isinstance(value, bool):
            raise ProtocolError(f"{kind}: field {field!r} must be an integer")
        if not isinstance(value, expected):
            raise ProtocolError(f"{kind}: field {field!r} has the wrong type")
    if kind in WORKER_MESSAGES:
        try:
            validation.check_json(message)
        except ProtocolError as exc:
            raise ProtocolError(f"{kind}: {exc}", exc.code) from None
        validation.WORKER_CHECKS[kind](message)
    elif kind == "pending" and not all(isinstance(t, str) for t in message["targets"]):
        raise ProtocolError("pending: targets must be execution identifiers")
    return message


def _shown(value: Any) -> str:
    """A value from a message, short enough to quote in an error reply."""
    if not isinstance(value, str | int | float | bool | None):
        return type(value).__name__
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def decode(text: str | bytes, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """Parse and validate a frame holding exactly one message."""
    return validate(_parse(text), allowed)


def messages_of(text: str | bytes) -> list[Any]:
    """The messages a frame holds, not yet validated (``validate`` each)."""
    parsed = _parse(text)
    if not isinstance(parsed, list):
        return [parsed]
    if not parsed:
        raise ProtocolError("a frame holds a message or a non-empty array of them")
    return parsed


def _parse(text: str | bytes) -> Any:
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"invalid JSON: {exc}") from None
    raw = text.encode() if isinstance(text, str) else text
    if _LONG_DIGITS in raw.translate(_DIGITS_AS_ZEROS):
        _refuse_long_integers(raw.decode())
    return parsed


_DIGITS_AS_ZEROS = bytes(ord("0") if chr(b).isdigit() and b < 128 else ord(" ") for b in range(256))
_LONG_DIGITS = b"0" * 19
"""A run of 19 digits, looked for in the frame with every digit read as ``0``: much faster than
a regular expression, and rarely there (timestamps in milliseconds have 13)."""
_STRING_OR_INTEGER = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(?<![\d.eE+-])(-?\d+)(?![\d.eE])')


def _refuse_long_integers(text: str) -> None:
    """orjson reads an integer beyond 64 bits as the nearest float, changing it silently:
    refuse such integers instead. Only frames with a run of 19 digits come here, and only the
    integers of 19 digits or more in them (outside strings) are read."""
    for match in _STRING_OR_INTEGER.finditer(text):
        digits = match.group(1)
        if digits is None or len(digits) < 19:
            continue
        if len(digits.lstrip("-")) > 19 or not MIN_INT <= int(digits) <= MAX_INT:
            raise ProtocolError("integers must fit in signed 64 bits")


_FALLBACK = json.JSONEncoder(separators=(",", ":"))


def _dumps(message: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(message)
    except TypeError:
        # What orjson refuses and the json module writes: integers beyond 64 bits, keys that
        # are not strings, more than 254 levels (values stored before the boundary refused
        # them, or plain JSON submitted through the API).
        return _FALLBACK.encode(message).encode()


def encode(message: dict[str, Any]) -> str:
    return _dumps(message).decode()


def encode_frames(messages: Iterable[dict[str, Any]]) -> Iterator[tuple[str, int]]:
    """Pack messages into as few frames as fit ``MAX_MESSAGE_BYTES`` (in UTF-8), in order.

    Yields each frame with the number of messages it holds. A message too large for a frame
    of its own still gets one (the receiver refuses it, and says so).
    """
    parts: list[bytes] = []
    size = 0
    for message in messages:
        part = _dumps(message)
        if parts and size + len(part) + 1 > MAX_MESSAGE_BYTES:
            yield _frame(parts), len(parts)
            parts, size = [], 0
        parts.append(part)
        size += len(part) + 1
    if parts:
        yield _frame(parts), len(parts)


def _frame(parts: list[bytes]) -> str:
    return (parts[0] if len(parts) == 1 else b"[" + b",".join(parts) + b"]").decode()
