"""What a workspace's unfinished executions are waiting for, as ``coflux queue`` shows it.

Each queued or assigned execution gets a status:

- ``assigned``: a worker session runs it (or is about to);
- ``paused``: the workspace is paused;
- ``scheduled``: it is due later (a delay, a retry's backoff, a suspension's ``after``);
- ``waiting``: due, for the dependencies it was suspended on, or for a free slot on a worker;
- ``no session``: no connected worker of the workspace hosts its target with tags that fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from projects.models import WorkerSession
from runs.models import Execution, Run, Step
from runs.orchestration import policies
from runs.orchestration.records import declared_targets
from runs.states import UNFINISHED, State
from workspaces.models import Workspace

LIMIT = 500


def workspace_queue(workspace: Workspace, now: datetime | None = None) -> list[dict[str, Any]]:
    """The workspace's unfinished executions (at most ``LIMIT``), oldest first."""
    now = now or timezone.now()
    executions = list(
        Execution.objects.filter(workspace=workspace, state__in=list(UNFINISHED))
        .select_related("step")
        .order_by("created_at", "id")[:LIMIT]
    )
    sessions = live_sessions(workspace)
    run_requires = requires_by_run({e.step.run_id for e in executions})
    return [
        {
            "execution_id": execution.id,
            "module": execution.step.module,
            "target": execution.step.target,
            "status": _status(execution, workspace, sessions, run_requires, now),
            "session": execution.session_id,
            "created_at": execution.created_at.isoformat(),
            "execute_after": execution.execute_after.isoformat()
            if execution.execute_after
            else None,
        }
        for execution in executions
    ]


Host = tuple[set[tuple[str, str, str]], policies.Tags, policies.Tags]
"""A worker session that could take work: the targets it hosts, what it provides and accepts."""


def live_sessions(workspace: Workspace) -> list[Host]:
    """The workspace's connected worker sessions that take new work (not draining)."""
    return [
        (declared_targets(s.targets) or set(), s.provides or {}, s.accepts or {})
        for s in WorkerSession.objects.filter(
            workspace=workspace, expired_at=None, connected=True, draining=False
        )
    ]


def requires_by_run(run_ids: set[str]) -> dict[str, policies.Tags]:
    """Each run's requires, as the orchestrator has them."""
    roots = dict(Step.objects.filter(run_id__in=run_ids, number=1).values_list("run_id", "options"))
    return {
        run_id: policies.run_requires(requires, roots.get(run_id))
        for run_id, requires in Run.objects.filter(id__in=run_ids).values_list("id", "requires")
    }


def execution_requires(step: Step, run_requires: Mapping[str, policies.Tags]) -> dict[str, list]:
    """The requires an execution of the step must meet, given ``requires_by_run``'s answer."""
    return policies.step_requires(run_requires.get(step.run_id), step.options, step.number == 1)


def _status(
    execution: Execution,
    workspace: Workspace,
    sessions: list[Host],
    run_requires: Mapping[str, policies.Tags],
    now: datetime,
) -> str:
    if execution.state == State.ASSIGNED:
        return "assigned"
    if workspace.state == Workspace.State.PAUSED:
        return "paused"
    if execution.execute_after is not None and execution.execute_after > now:
        return "scheduled"
    step = execution.step
    requires = execution_requires(step, run_requires)
    target = (step.module, step.target, step.target_type)
    hosted = any(
        policies.can_run(targets, provides, accepts, target, requires)
        for targets, provides, accepts in sessions
    )
    return "waiting" if hosted else "no session"
