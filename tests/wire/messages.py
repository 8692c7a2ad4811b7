"""One valid message of each type a worker sends, as the SDK writes them."""

from __future__ import annotations

import copy
from typing import Any

from coflux_wire import protocol

EXECUTION = "Rbcd23:1:1"
BLOB_KEY = "ab" * 32


def value(data: Any, refs: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "inline", "format": "json", "data": data, "refs": refs or []}


VALID: dict[str, dict[str, Any]] = {
    "hello": {
        "type": "hello",
        "protocol": protocol.VERSION,
        "workspace": "production/eu",
        "session": None,
        "concurrency": 4,
        "max_processes": 16,
        "provides": {"gpu": ["a100"]},
        "accepts": {"team": ["ml", "ops"]},
        "targets": [
            {"module": "app.flows", "name": "main", "type": "workflow", "parameters": []},
            {"module": "app.flows", "name": "inc", "type": "task"},
        ],
    },
    "started": {"type": "started", "execution": EXECUTION},
    "submit": {
        "type": "submit",
        "ref": "1",
        "parent": EXECUTION,
        "module": "app.flows",
        "target": "inc",
        "target_type": "task",
        "arguments": [
            value({"type": "dict", "items": ["a", 1.5]}),
            {"type": "blob", "key": BLOB_KEY, "size": 300, "refs": []},
            value(
                {"type": "ref", "index": 0},
                [{"type": "execution", "id": "Rbcd23:2:1", "module": "m", "target": "t"}],
            ),
        ],
        "options": {
            "wait": [0],
            "cache": {"params": [0, 1], "max_age_ms": 60_000, "namespace": None, "version": "2"},
            "retries": {"limit": 3, "backoff_min_ms": 1000, "backoff_max_ms": 60_000},
            "defer": {"params": [1]},
            "delay_ms": 500,
            "memo": [0],
            "requires": {"gpu": ["a100"]},
            "timeout_ms": 0,
            "recurrent": False,
        },
        "group": 1,
        "group_name": "batch",
        "wait": True,
    },
    "wait": {"type": "wait", "execution": EXECUTION, "targets": ["Rbcd23:2:1"], "reply": True},
    "cancel": {"type": "cancel", "execution": EXECUTION, "targets": ["Rbcd23:2:1"]},
    "result": {
        "type": "result",
        "execution": EXECUTION,
        "result": {
            "type": "value",
            "value": value(
                [1, "two", {"type": "ref", "index": 0}],
                [
                    {
                        "type": "fragment",
                        "format": "pickle",
                        "key": BLOB_KEY,
                        "size": 12,
                        "metadata": {"type": "app.Thing"},
                    }
                ],
            ),
        },
    },
    "log": {
        "type": "log",
        "execution": EXECUTION,
        "entries": [
            [1_700_000_000_000, 2, "hello {name}", {"name": value("world")}],
            [1_700_000_000_001, 1, "printed", {}],
        ],
    },
    "metric": {
        "type": "metric",
        "execution": EXECUTION,
        "definitions": [
            {
                "key": "loss",
                "throttle": 10,
                "group": {"name": "training", "units": "epoch", "lower": 0, "upper": None},
                "scale": None,
            }
        ],
        "points": [["loss", 0.25, 1.5]],
    },
    "heartbeat": {"type": "heartbeat", "executions": [EXECUTION, "Rbcd23:2:1"]},
    "waiting": {"type": "waiting", "execution": EXECUTION, "waiting": True},
    "declined": {"type": "declined", "execution": EXECUTION},
    "draining": {"type": "draining"},
}

RESULTS: list[dict[str, Any]] = [
    {
        "type": "error",
        "error": {
            "type": "builtins.ValueError",
            "message": "no",
            "frames": [{"file": "app.py", "line": 3, "name": "inc", "code": "raise"}],
            "retryable": None,
        },
    },
    {"type": "suspended", "after": 1_700_000_000_000, "dependencies": ["Rbcd23:2:1"]},
    {"type": "suspended", "after": None, "dependencies": []},
    {"type": "cancelled"},
]


def valid(kind: str, **fields: Any) -> dict[str, Any]:
    """A fresh copy of the valid message of ``kind`` with ``fields`` replaced."""
    return {**copy.deepcopy(VALID[kind]), **fields}
