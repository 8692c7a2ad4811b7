"""What an orchestrator holds about pools and the workers they launched (part of ``Memory``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PoolState:
    id: int
    workspace_id: int
    name: str
    type: str
    modules: list[str]
    provides: dict[str, list[str]]
    accepts: dict[str, list[str]]
    config: dict[str, Any]
    enabled: bool
    last_launch_at: datetime | None = None
    failures: int = 0
    """Launches in a row that failed or ended before their worker connected (they back off)."""

    def hosts(self, module: str) -> bool:
        """Whether its workers host ``module``: a listed module or one inside a listed package
        (its workers are started with the list); no list means any module."""
        return not self.modules or any(
            module == name or module.startswith(name + ".") for name in self.modules
        )


@dataclass
class LaunchState:
    """A launched worker that has not ended (launching, active or draining)."""

    id: str
    pool_id: int | None
    workspace_id: int
    session_id: str
    state: str
    launcher: dict[str, Any]
    """The pool's type and fields at the launch: what polling and stopping it take."""
    created_at: datetime
    handle: dict[str, Any] | None = None
    busy: bool = False
    """A launcher call about it is under way (at most one at a time)."""
    polled_at: datetime | None = None
    idle_since: datetime | None = None
    stop_sent: bool = False
    retry_stop_at: datetime | None = None
    failure: str = ""
    """Why it is being stopped as a failure (it never connected); empty for a plain stop."""


@dataclass
class Fleet:
    project_name: str = ""
    pools: dict[int, PoolState] = field(default_factory=dict)
    launches: dict[str, LaunchState] = field(default_factory=dict)
    held: dict[int, datetime] = field(default_factory=dict)
    """Pools wanted for work but held back by their launch interval, until when."""
