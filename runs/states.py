"""The execution state machine (shared/SPEC.md §3.1), modelled once and used everywhere."""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    RECURRED = "recurred"
    CACHED = "cached"
    DEFERRED = "deferred"
    SPAWNED = "spawned"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.QUEUED: frozenset(
        {State.ASSIGNED, State.CACHED, State.DEFERRED, State.SPAWNED, State.CANCELLED}
    ),
    State.ASSIGNED: frozenset(
        {
            # Declined: the worker never received it (the server died before sending it).
            State.QUEUED,
            State.SUCCEEDED,
            State.FAILED,
            State.TIMED_OUT,
            State.ABANDONED,
            State.SUSPENDED,
            State.CANCELLED,
            State.RECURRED,
        }
    ),
}

UNFINISHED = frozenset({State.QUEUED, State.ASSIGNED})
FINISHED = frozenset(State) - UNFINISHED

RESULT_STATE = {
    "value": State.SUCCEEDED,
    "error": State.FAILED,
    "timeout": State.TIMED_OUT,
    "abandoned": State.ABANDONED,
    "cancelled": State.CANCELLED,
    "suspended": State.SUSPENDED,
    "recurred": State.RECURRED,
    "deferred": State.DEFERRED,
    "cached": State.CACHED,
    "spawned": State.SPAWNED,
}
"""The state an execution ends in for each type of result."""

FAILURES = frozenset({"error", "abandoned", "timeout"})
"""Result types that count as a failed attempt, and may be retried."""

RUN_STATUS = {
    State.QUEUED: "queued",
    State.ASSIGNED: "running",
    State.SUCCEEDED: "succeeded",
    State.FAILED: "failed",
    State.TIMED_OUT: "timeout",
    State.ABANDONED: "abandoned",
    State.CANCELLED: "cancelled",
}


class InvalidTransition(Exception):
    """A change of state the state machine does not allow: a bug, never bad input."""


def can_transition(current: str, new: str) -> bool:
    return State(new) in TRANSITIONS.get(State(current), frozenset())


def check_transition(current: str, new: str) -> None:
    """Raise ``InvalidTransition`` unless an execution may go from ``current`` to ``new``."""
    if not can_transition(current, new):
        raise InvalidTransition(f"an execution cannot go from {current} to {new}")


def sources(new: State) -> frozenset[State]:
    """The states an execution may be in to move to ``new``: what a conditional UPDATE to
    ``new`` requires of the row, so that the database refuses what the table forbids."""
    return frozenset(state for state, targets in TRANSITIONS.items() if new in targets)
