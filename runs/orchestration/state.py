"""What an orchestrator keeps in memory between ticks; rebuilt from the database on start."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TargetKey = tuple[str, str, str]
"""(module, target, type) of a target a worker hosts."""


@dataclass
class SessionState:
    id: str
    workspace_id: int
    targets: set[TargetKey]
    concurrency: int
    provides: dict[str, list[str]]
    channel: str | None
    draining: bool = False
    executions: set[str] = field(default_factory=set)
    disconnected_at: datetime | None = None

    def has_capacity(self) -> bool:
        if self.channel is None or self.draining:
            return False
        return self.concurrency == 0 or len(self.executions) < self.concurrency


@dataclass
class PendingExecution:
    """An execution waiting to be assigned to a worker."""

    id: str
    run_id: str
    workspace_id: int
    workspace_name: str
    module: str
    target: str
    target_type: str
    arguments: list[dict[str, Any]]
    created_at: datetime
    execute_after: datetime | None
    timeout_ms: int = 0
    parent_id: str | None = None

    @property
    def target_key(self) -> TargetKey:
        return (self.module, self.target, self.target_type)


@dataclass
class RunningExecution:
    id: str
    session_id: str
    parent_id: str | None


Outbox = list[tuple[str, dict[str, Any]]]
"""Messages to deliver after the tick commits: (consumer channel, protocol message)."""
