"""What goes into an orchestrator's inbox, and what comes back to whoever asked.

Worker consumers put ``connect``, ``disconnect`` and ``message`` envelopes (the message already
validated by ``coflux_wire.protocol``); the REST API puts ``wake`` and ``command`` envelopes
(see ``projects.mailbox``). A command's reply is a ``Reply``: ``{"ok": True, ...}`` or a ``Refusal``
with a code from ``projects.errors.Code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, NotRequired, TypedDict, TypeVar

from coflux_wire import protocol
from projects.errors import Code
from runs.orchestration.memory import SessionState


class Connect(TypedDict):
    kind: Literal["connect"]
    channel: str
    hello: protocol.Hello


class Disconnect(TypedDict):
    kind: Literal["disconnect"]
    session: str
    channel: str


class MessageEnvelope(TypedDict):
    kind: Literal["message"]
    session: str
    channel: str
    message: dict[str, Any]


class Wake(TypedDict):
    kind: Literal["wake"]


class CancelCommand(TypedDict):
    type: Literal["cancel"]
    execution: str


class RerunCommand(TypedDict):
    type: Literal["rerun"]
    step: str
    workspace: str | None


class ArchiveCommand(TypedDict):
    type: Literal["archive"]
    workspace: str


class RespondInputCommand(TypedDict):
    type: Literal["respond_input"]
    input: str
    value: Any
    """The response as plain JSON (``None`` is a value)."""
    by: NotRequired[str]


class DismissInputCommand(TypedDict):
    type: Literal["dismiss_input"]
    input: str
    by: NotRequired[str]


Command = CancelCommand | RerunCommand | ArchiveCommand | RespondInputCommand | DismissInputCommand


class CommandEnvelope(TypedDict):
    kind: Literal["command"]
    command: Command
    reply_to: str


Envelope = Connect | Disconnect | MessageEnvelope | Wake | CommandEnvelope


class Refusal(TypedDict):
    ok: Literal[False]
    error: str
    message: str


class Accepted(TypedDict, total=False):
    ok: Literal[True]
    cancelled: list[str]
    sessions: list[str]
    execution_id: str
    attempt: int
    step_id: str
    input: str
    state: str


Reply = Accepted | Refusal


class ReplyMessage(TypedDict):
    """A reply as it travels back over the channel layer."""

    type: Literal["orchestrator.reply"]
    ok: bool
    error: NotRequired[str]
    message: NotRequired[str]


def refusal(code: Code, message: str) -> Refusal:
    return {"ok": False, "error": str(code), "message": message}


M = TypeVar("M")


@dataclass(frozen=True)
class Incoming(Generic[M]):
    """A worker's message, with the session and connection it came from."""

    session: SessionState
    channel: str
    message: M
