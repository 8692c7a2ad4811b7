"""Workspace patterns: which workspaces a token or a role grant covers.

A pattern is ``*`` (every workspace), an exact name (``prod``), or a name followed by ``/*``
(``dev/*``), which covers that workspace and every one below it (``dev``, ``dev/ada``,
``dev/ada/x``). Names compare case-insensitively, as workspace names do (SPEC §1).
"""

from __future__ import annotations

from collections.abc import Iterable

from coflux_wire.validation import MAX_WORKSPACE_NAME, WORKSPACE_NAME
from projects.errors import Code, DomainError

ALL = "*"
MAX_PATTERNS = 100


def _prefix(pattern: str) -> str | None:
    """The workspace a ``x/*`` pattern is rooted at, or None for ``*`` and exact names."""
    return pattern[:-2] if pattern.endswith("/*") else None


def covers(pattern: str, workspace: str) -> bool:
    """Whether ``pattern`` covers the workspace named ``workspace``."""
    pattern, workspace = pattern.lower(), workspace.lower()
    if pattern == ALL:
        return True
    prefix = _prefix(pattern)
    if prefix is None:
        return pattern == workspace
    return workspace == prefix or workspace.startswith(prefix + "/")


def any_covers(patterns: Iterable[str], workspace: str) -> bool:
    return any(covers(pattern, workspace) for pattern in patterns)


def includes(pattern: str, other: str) -> bool:
    """Whether every workspace ``other`` covers is covered by ``pattern`` too."""
    pattern, other = pattern.lower(), other.lower()
    if pattern == ALL:
        return True
    if other == ALL:
        return False
    root = _prefix(other)
    if root is None:
        return covers(pattern, other)
    prefix = _prefix(pattern)
    return prefix is not None and (root == prefix or root.startswith(prefix + "/"))


def all_within(granted: Iterable[str], wanted: Iterable[str]) -> bool:
    """Whether each of ``wanted`` is included in one of ``granted`` (a token may only create
    tokens covering what it covers itself)."""
    granted = list(granted)
    return all(any(includes(mine, theirs) for mine in granted) for theirs in wanted)


def check_pattern(value: object) -> str:
    """``value`` as a pattern (lower-cased), or an ``invalid_request`` error saying why not."""
    if isinstance(value, str):
        text = value.strip().lower()
        name = text[:-2] if text.endswith("/*") else text
        if text == ALL or (
            len(name) <= MAX_WORKSPACE_NAME and WORKSPACE_NAME.fullmatch(name) is not None
        ):
            return text
    raise DomainError(
        f"Invalid workspace pattern {value!r}: use '*', a workspace name, or a name followed "
        "by '/*' (that workspace and those below it).",
        code=Code.INVALID_REQUEST,
    )


def parse_patterns(value: object) -> list[str]:
    """Patterns from a list or a comma-separated string, checked, without duplicates."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise DomainError(
            "'workspaces' must be a list of patterns or a comma-separated string.",
            code=Code.INVALID_REQUEST,
        )
    patterns: list[str] = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        pattern = check_pattern(item)
        if pattern not in patterns:
            patterns.append(pattern)
    if not patterns or len(patterns) > MAX_PATTERNS:
        raise DomainError(
            f"Give 1 to {MAX_PATTERNS} workspace patterns ('*' for every workspace).",
            code=Code.INVALID_REQUEST,
        )
    return patterns
