"""One tick's unit of work: what it writes, what it will say, what it changed.

Subjects (sessions, messages, outcomes, dispatch, commands) add to a ``Tick`` as they go. Rows
are queued rather than written (``writes.Batch``), executions created in the tick are kept as
unsaved instances so that most are written once, already assigned, and messages wait in the
outbox. ``flush`` writes everything; the orchestrator commits, and only then is the outbox
delivered, with the change events built by ``events`` (ARCHITECTURE musts 1 and 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runs.models import Execution, Result
from runs.orchestration import writes

Outbox = list[tuple[str, dict[str, Any]]]
"""Messages to deliver after the tick commits: (consumer channel, message)."""


@dataclass
class Tick:
    now: datetime
    outbox: Outbox = field(default_factory=list)
    writes: writes.Batch = field(default_factory=writes.Batch)
    new_executions: dict[str, Execution] = field(default_factory=dict)
    """Executions created in this tick, inserted when it flushes (in their final state)."""
    new_results: list[Result] = field(default_factory=list)
    starting: set[str] = field(default_factory=set)
    """Executions that started and finish in this tick: their start time comes with the result."""
    changed: dict[str, int | None] = field(default_factory=dict)
    """Executions created or changed, with their workspace when known (for change events)."""
    logged: set[str] = field(default_factory=set)
    """Runs that received log lines."""
    measured: set[str] = field(default_factory=set)
    """Runs that received metrics."""
    sessions_changed: set[int] = field(default_factory=set)
    """Workspaces whose worker sessions connected, left or changed."""
    finished_runs: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """Runs whose root execution reached its final result, with the run's outcome when that
    attempt is known to be the root's latest."""
    inputs: dict[str, int] = field(default_factory=dict)
    """Inputs asked, answered or cancelled, with the workspace they were asked in."""

    def send(self, channel: str | None, message: dict[str, Any]) -> None:
        """Deliver ``message`` to a consumer channel after commit (nothing if not connected)."""
        if channel:
            self.outbox.append((channel, message))

    def touch(self, execution_id: str, workspace_id: int | None = None) -> None:
        """Note that an execution was created or changed state."""
        if workspace_id is not None or execution_id not in self.changed:
            self.changed[execution_id] = workspace_id

    def flush(self) -> None:
        """Write what the tick changed: what it queued as it went, then the new executions and
        the results (some forward to them)."""
        self.writes.insert(self.new_executions.values())
        self.writes.insert(self.new_results, ignore_conflicts=True)
        self.new_executions = {}
        self.new_results = []
        self.writes.flush()
