"""Who may do what in a workspace: the one decision every way into Studio asks.

Studio's views and its websocket call ``may(user, action, workspace)`` and nothing else. For now
any active, logged-in user may do everything; roles (viewer, operator, admin) will be decided
here without touching the callers.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workspaces.models import Workspace


class Action(StrEnum):
    VIEW = "view"
    """Read pages, runs, logs and assets."""
    OPERATE = "operate"
    """Submit runs, cancel executions, re-run steps, pause and resume workspaces."""
    RESPOND = "respond"
    """Answer or dismiss inputs (``cf.Prompt``); an input's ``requires`` may narrow it here."""
    ADMINISTER = "administer"
    """Create and archive workspaces."""


def may(user: Any, action: Action, workspace: Workspace | None = None) -> bool:
    """Whether ``user`` (a Django user, possibly anonymous) may do ``action`` in ``workspace``
    (``None``: in the project as a whole, e.g. creating a workspace)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))
