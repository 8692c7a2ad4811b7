"""Run identifiers (``R`` and a short random string without vowels or look-alike characters),
and the shapes of run, step and execution IDs that requests may name."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

RUN_ID_ALPHABET = "bcdfghjkmnpqrstvwxz23456789"
RUN_ID_LENGTH = 6


def new_run_id(taken: Callable[[str], bool]) -> str:
    """A fresh run ID; a collision makes the next candidate one character longer."""
    length = RUN_ID_LENGTH
    while True:
        run_id = "R" + "".join(secrets.choice(RUN_ID_ALPHABET) for _ in range(length))
        if not taken(run_id):
            return run_id
        length += 1


_RUN = r"[A-Za-z0-9]{1,32}"
_NUMBER = r"[1-9][0-9]{0,8}"
_RUN_ID = re.compile(_RUN)
_STEP_ID = re.compile(rf"{_RUN}:{_NUMBER}")
_EXECUTION_ID = re.compile(rf"{_RUN}:{_NUMBER}:{_NUMBER}")


def is_run_id(value: str) -> bool:
    """Whether ``value`` can name a run: checked before it reaches a query or a group name
    (which the channel layer limits to ASCII letters, digits, ``-_.`` and 100 characters)."""
    return _RUN_ID.fullmatch(value) is not None


def is_step_id(value: str) -> bool:
    """Whether ``value`` can name a step: ``<run>:<number>``."""
    return _STEP_ID.fullmatch(value) is not None


def is_execution_id(value: str) -> bool:
    """Whether ``value`` can name an execution: ``<run>:<step number>:<attempt>``."""
    return _EXECUTION_ID.fullmatch(value) is not None
