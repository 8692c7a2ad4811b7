"""What the module and workers pages show: a module's queue in three columns, and the
workspace's worker sessions. Plain functions over the database, a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from projects.models import WorkerSession
from runs.models import Execution
from runs.orchestration.records import declared_targets
from runs.states import State
from runs.studio.links import run_url
from workspaces.models import Target, Workspace

COLUMN_LIMIT = 200
OVERDUE_AFTER = timedelta(seconds=10)
"""A due execution not assigned after this long is flagged: nothing is taking it."""


@dataclass
class QueuedExecution:
    id: str
    run_id: str
    step: int
    attempt: int
    target: str
    since: datetime
    """When it started (executing), fell due (due) or was created (scheduled)."""
    due: datetime | None = None
    overdue: bool = False

    @property
    def url(self) -> str:
        return run_url(self.run_id, self.step, self.attempt)


@dataclass
class ModuleQueue:
    executing: list[QueuedExecution] = field(default_factory=list)
    due: list[QueuedExecution] = field(default_factory=list)
    scheduled: list[QueuedExecution] = field(default_factory=list)
    now: datetime = field(default_factory=timezone.now)


def module_queue(workspace: Workspace, module: str, now: datetime | None = None) -> ModuleQueue:
    """The module's unfinished executions in the workspace: executing (assigned), due (queued
    and due, oldest first) and scheduled (due later, soonest first); each column capped."""
    now = now or timezone.now()
    queue = ModuleQueue(now=now)
    executions = (
        Execution.objects.filter(
            workspace=workspace,
            state__in=[State.QUEUED, State.ASSIGNED],
            step__module=module,
        )
        .select_related("step")
        .order_by("created_at", "id")
    )
    for execution in executions[: COLUMN_LIMIT * 3]:
        step = execution.step
        entry = QueuedExecution(
            id=execution.id,
            run_id=step.run_id,
            step=step.number,
            attempt=execution.attempt,
            target=step.target,
            since=execution.created_at,
            due=execution.execute_after,
        )
        if execution.state == State.ASSIGNED:
            entry.since = execution.started_at or execution.assigned_at or execution.created_at
            column = queue.executing
        elif execution.execute_after is not None and execution.execute_after > now:
            column = queue.scheduled
        else:
            entry.since = execution.execute_after or execution.created_at
            entry.overdue = now - entry.since > OVERDUE_AFTER
            column = queue.due
        if len(column) < COLUMN_LIMIT:
            column.append(entry)
    queue.scheduled.sort(key=lambda e: (e.due or now, e.id))
    return queue


def module_targets(workspace: Workspace, module: str) -> list[Target]:
    """The module's registered workflows, by name."""
    return list(
        Target.objects.filter(
            module__workspace=workspace, module__name=module, module__archived=False
        ).order_by("name")
    )


@dataclass
class Session:
    id: str
    state: str
    """connected, draining or disconnected."""
    load: int
    concurrency: int
    provides: dict
    accepts: dict
    targets: dict[str, list[str]]
    """Module → names of the targets the worker hosts there."""
    created_at: datetime
    last_seen_at: datetime
    disconnected_at: datetime | None

    @property
    def target_count(self) -> int:
        return sum(len(names) for names in self.targets.values())


def worker_sessions(workspace: Workspace) -> list[Session]:
    """The workspace's live sessions (not expired), oldest first, each with its load (how many
    executions it runs now), in one query."""
    sessions = (
        WorkerSession.objects.filter(workspace=workspace, expired_at=None)
        .annotate(load=Count("executions", filter=Q(executions__state=State.ASSIGNED)))
        .order_by("created_at", "id")
    )
    listed = []
    for session in sessions:
        targets: dict[str, list[str]] = defaultdict(list)
        for module, name, _ in sorted(declared_targets(session.targets) or ()):
            targets[module].append(name)
        if not session.connected:
            state = "disconnected"
        else:
            state = "draining" if session.draining else "connected"
        listed.append(
            Session(
                id=session.id,
                state=state,
                load=session.load,
                concurrency=session.concurrency,
                provides=session.provides or {},
                accepts=session.accepts or {},
                targets=dict(targets),
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                disconnected_at=session.disconnected_at,
            )
        )
    return listed
