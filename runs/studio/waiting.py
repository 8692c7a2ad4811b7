"""Why each unfinished execution of a workspace waits, in words, for the queue page.

The statuses are ``runs.queue``'s (what ``coflux queue`` shows); this adds what a person needs
to act on them: the session running it, when it falls due, which dependencies it waits for,
whether any worker hosts its target at all or which required tag no worker offers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from runs.models import Execution, Step
from runs.queue import Host, execution_requires, live_sessions, requires_by_run, workspace_queue
from runs.states import UNFINISHED
from runs.studio.links import execution_url
from workspaces.models import Workspace


@dataclass
class Waiting:
    execution_id: str
    run_id: str
    module: str
    target: str
    status: str
    reason: str
    created_at: datetime
    due: datetime | None = None
    session: str | None = None
    dependencies: list[str] = field(default_factory=list)
    """Unfinished executions it waits for (a suspension's)."""
    unmet: dict[str, list[str]] = field(default_factory=dict)
    """Required tags that no connected worker hosting the target offers."""

    @property
    def url(self) -> str:
        return execution_url(self.execution_id)


def explain_queue(workspace: Workspace, now: datetime | None = None) -> list[Waiting]:
    """The workspace's queue (``runs.queue.workspace_queue``) with the reason of each wait."""
    now = now or timezone.now()
    entries = workspace_queue(workspace, now)
    ids = [entry["execution_id"] for entry in entries]
    executions = Execution.objects.filter(pk__in=ids).select_related("step").in_bulk()
    waited_on = {dep for e in executions.values() for dep in (e.wait_for or [])}
    unfinished = set(
        Execution.objects.filter(pk__in=waited_on, state__in=list(UNFINISHED)).values_list(
            "pk", flat=True
        )
    )
    sessions = live_sessions(workspace)
    requires = requires_by_run({e.step.run_id for e in executions.values()})
    explained = []
    for entry in entries:
        execution = executions.get(entry["execution_id"])
        if execution is None:  # finished between the two reads
            continue
        step = execution.step
        item = Waiting(
            execution_id=execution.id,
            run_id=step.run_id,
            module=step.module,
            target=step.target,
            status=entry["status"],
            reason="",
            created_at=execution.created_at,
            due=execution.execute_after,
            session=execution.session_id,
        )
        item.dependencies = [d for d in execution.wait_for or [] if d in unfinished]
        item.reason = _reason(item, step, execution_requires(step, requires), sessions)
        explained.append(item)
    return explained


def _reason(
    item: Waiting,
    step: Step,
    requires: dict[str, list],
    sessions: list[Host],
) -> str:
    if item.status == "assigned":
        return "Running on a worker."
    if item.status == "paused":
        return "The workspace is paused: nothing new starts until it is resumed."
    if item.status == "scheduled":
        return "Due later."
    if item.dependencies:
        return "Waiting for the executions it depends on to finish."
    target = (step.module, step.target, step.target_type)
    hosting = [(provides, accepts) for targets, provides, accepts in sessions if target in targets]
    if item.status == "waiting":
        return "Waiting for a free slot on a worker that hosts it."
    if not hosting:
        return f"No connected worker hosts {step.module}/{step.target}."
    for key, wanted in requires.items():
        offered = {
            v
            for provides, accepts in hosting
            for v in [*provides.get(key, ()), *accepts.get(key, ())]
        }
        if offered.isdisjoint(wanted):
            item.unmet[key] = list(wanted)
    if item.unmet:
        return "Its requires are not met by any worker that hosts it."
    return "The workers that host it accept only work that requires other tags."
