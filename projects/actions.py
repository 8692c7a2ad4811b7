"""What a principal may be allowed to do in a workspace, and which actions each role grants."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    VIEW = "view"
    """Read pages, runs, results, logs, metrics, assets and blobs."""
    OPERATE = "operate"
    """Submit runs, cancel executions, re-run steps, pause and resume workspaces; register
    workflows and connect workers."""
    RESPOND = "respond"
    """Answer or dismiss inputs (``cf.Prompt``); an input's ``requires`` may narrow it here."""
    MANAGE = "manage"
    """Create, rename, re-base and archive workspaces; archive modules."""
    ADMINISTER = "administer"
    """Create, list and revoke service tokens; configure pools (which say what processes,
    containers or jobs the server starts)."""


ALL_ACTIONS = frozenset(Action)

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "viewer": frozenset({Action.VIEW}),
    "operator": frozenset({Action.VIEW, Action.OPERATE, Action.RESPOND, Action.MANAGE}),
    "admin": ALL_ACTIONS,
}
"""The actions each role of ``projects.models.Role`` grants in the workspaces it covers."""

WORKER_ACTIONS = frozenset({Action.VIEW, Action.OPERATE})
"""What a worker session's token grants, in its own workspace only."""

OPEN_ACTIONS = frozenset({Action.VIEW, Action.OPERATE, Action.RESPOND, Action.MANAGE})
"""What anyone may do when ``COFLUX_REQUIRE_AUTH`` is off: everything but tokens."""
