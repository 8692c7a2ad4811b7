"""Run identifiers: ``R`` and a short random string without vowels or look-alike characters."""

from __future__ import annotations

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
