"""Database rows built from protocol messages (already validated), and the messages the
orchestrator sends back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from projects.errors import Code
from runs.models import LogMessage, Result
from runs.orchestration.bus import REPLY_PREFIX


def result_row(
    execution_id: str, result: dict[str, Any], successor: str | None, now: datetime
) -> Result:
    """The row recording a result (its shape checked by the protocol)."""
    kind = result["type"]
    row = Result(execution_id=execution_id, type=kind, successor_id=successor, created_at=now)
    if kind == "value":
        row.value = result["value"]
    elif kind == "error":
        error = result["error"]
        row.error_type = error["type"]
        row.error_message = error["message"]
        row.error_frames = error.get("frames") or []
        row.retryable = error.get("retryable")
    return row


def log_row(execution_id: str, entry: list[Any]) -> LogMessage:
    """A log entry ``[timestamp_ms, level, template, values]`` (checked by the protocol) as a
    row."""
    timestamp, level, template, values = entry
    return LogMessage(
        execution_id=execution_id,
        timestamp=datetime.fromtimestamp(timestamp / 1000, tz=UTC),
        level=level,
        template=template,
        values=values,
    )


def declared_targets(targets: list[Any]) -> set[tuple[str, str, str]] | None:
    """The targets a worker declares, or ``None`` if the declaration is malformed."""
    declared = set()
    for target in targets:
        if not isinstance(target, dict):
            return None
        module, name, kind = target.get("module"), target.get("name"), target.get("type")
        if not (isinstance(module, str) and isinstance(name, str) and kind in ("workflow", "task")):
            return None
        declared.add((module, name, kind))
    return declared


def error(code: Code, message: str) -> dict[str, Any]:
    """The protocol's ``error`` message."""
    return {"type": "error", "error": str(code), "message": message}


def resolved(waiter: str, target: str, result: dict[str, Any]) -> dict[str, Any]:
    """The protocol's ``resolved`` message: ``waiter`` learns the final result of ``target``."""
    return {"type": "resolved", "execution": waiter, "target": target, "result": result}


def reply(envelope: dict[str, Any], answer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The outbox entry answering a command envelope (see ``projects.mailbox``)."""
    return (
        REPLY_PREFIX + str(envelope.get("reply_to")),
        {"type": "orchestrator.reply", **answer},
    )
