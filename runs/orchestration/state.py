"""What an orchestrator keeps in memory between ticks; rebuilt from the database on start.

Every unfinished execution (queued or assigned) is in memory, so questions such as "which
executions descend from this one" or "is this dependency still pending" never need the
database; finished ones are looked up there (and a bounded number kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TargetKey = tuple[str, str, str]
"""(module, target, type) of a target a worker hosts."""

Waiter = tuple[str, str]
"""(waiting execution, the ID it waits on); filed under the end of that ID's forward chain."""


@dataclass
class SessionState:
    id: str
    workspace_id: int
    targets: set[TargetKey]
    concurrency: int
    provides: dict[str, list[str]]
    channel: str | None
    accepts: dict[str, list[str]] = field(default_factory=dict)
    draining: bool = False
    executions: set[str] = field(default_factory=set)
    disconnected_at: datetime | None = None
    heartbeat_at: datetime | None = None
    """When its previous heartbeat arrived; executions assigned before then must be listed."""

    def has_capacity(self) -> bool:
        if self.channel is None or self.draining:
            return False
        return self.concurrency == 0 or len(self.executions) < self.concurrency


@dataclass
class WorkspaceState:
    name: str
    state: str
    base_id: int | None


@dataclass
class RunInfo:
    workspace_id: int
    requires: dict[str, list[str]]
    memo: bool
    owner_id: str | None
    """For a spawned run, the execution that called the workflow (cancelling it cancels the run)."""


@dataclass(eq=False)
class ExecutionSpec:
    """An unfinished execution: queued (``session_id`` None) or assigned to a session."""

    id: str
    step_id: str
    run_id: str
    attempt: int
    workspace_id: int
    module: str
    target: str
    target_type: str
    arguments: list[dict[str, Any]]
    options: dict[str, Any]
    created_at: datetime
    execute_after: datetime | None
    parent_id: str | None
    """The execution that made this call; ``None`` for a run's root."""
    owner_id: str | None
    """The execution whose cancellation cancels this one: the parent, or a spawned run's caller."""
    requires: dict[str, list[str]]
    defer_key: str = ""
    cache_key: str = ""
    cache_checked: bool = False
    """Looked up in the cache once, when first due (SPEC §3.3); later, it just runs."""
    failures_before: int = 0
    blocked_on: set[str] = field(default_factory=set)
    """Executions that must have results before this one may start."""
    wait_any: bool = False
    """A resumed suspension starts once any of ``blocked_on`` has a result, not all."""
    session_id: str | None = None
    assigned_at: datetime | None = None

    @property
    def target_key(self) -> TargetKey:
        return (self.module, self.target, self.target_type)

    @property
    def is_root(self) -> bool:
        return self.step_id.endswith(":1") and self.step_id.count(":") == 1

    @property
    def timeout_ms(self) -> int:
        value = self.options.get("timeout_ms")
        return value if isinstance(value, int) and value > 0 else 0


RECENT = 10_000
"""How many finished executions' results and forwards (and runs) are kept in memory."""
MAX_FORWARDS = 100
"""Longest forward chain followed (a guard against a cycle in corrupt data)."""

Chain = tuple[str, Any]
"""Where a forward chain ends: ("pending", execution ID), ("done", result) or ("unknown", None)."""

Outbox = list[tuple[str, dict[str, Any]]]
"""Messages to deliver after the tick commits: (consumer channel, protocol message)."""
