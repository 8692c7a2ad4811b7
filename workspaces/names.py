"""Workspace names: ``^[a-z0-9_-]+(/[a-z0-9_-]+)*$``, compared case-insensitively.

A name is stored as it was first given and found whatever its case (``name__iexact``); the
database's unique constraint is on the lower-cased name, so ``Dev`` and ``dev`` are one.
"""

from __future__ import annotations

from coflux_wire.validation import MAX_WORKSPACE_NAME, WORKSPACE_NAME
from projects.errors import Code, DomainError


def is_valid_workspace_name(name: str) -> bool:
    return len(name) <= MAX_WORKSPACE_NAME and WORKSPACE_NAME.fullmatch(name) is not None


def check_workspace_name(name: object, what: str = "workspace name") -> str:
    """``name`` if it is a valid workspace name, else an ``invalid_workspace`` error naming
    ``what``."""
    if not isinstance(name, str) or not is_valid_workspace_name(name):
        raise DomainError(
            f"Invalid {what} {name!r}: use letters, digits, '_' and '-', "
            "in segments separated by '/' (at most 200 characters).",
            code=Code.INVALID_WORKSPACE,
        )
    return name
