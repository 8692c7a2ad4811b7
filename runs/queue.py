"""What a workspace's unfinished executions are waiting for, as ``coflux queue`` shows it.

Each queued or assigned execution gets a status:

- ``assigned``: a worker session runs it (or is about to);
- ``paused``: the workspace is paused;
- ``scheduled``: it is due later (a delay, a retry's backoff, a suspension's ``after``);
- ``waiting``: due, for the dependencies it was suspended on, or for a free slot on a worker;
- ``no session``: no connected worker of the workspace hosts its target with tags that fit.
"""

from __future__ import annotations

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
    sessions = [
        (declared_targets(s.targets) or set(), s.provides, s.accepts)
        for s in WorkerSession.objects.filter(
            workspace=workspace, expired_at=None, connected=True, draining=False
        )
    ]
    run_requires = _run_requires({e.step.run_id for e in executions})
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


def _run_requires(run_ids: set[str]) -> dict[str, Any]:
    """Each run's requires, as the orchestrator has them."""
    roots = dict(Step.objects.filter(run_id__in=run_ids, number=1).values_list("run_id", "options"))
    return {
        run_id: policies.run_requires(requires, roots.get(run_id))
        for run_id, requires in Run.objects.filter(id__in=run_ids).values_list("id", "requires")
    }


def _status(
    execution: Execution,
    workspace: Workspace,
    sessions: list[tuple[set[tuple[str, str, str]], dict, dict]],
    run_requires: dict[str, Any],
    now: datetime,
) -> str:
    if execution.state == State.ASSIGNED:
        return "assigned"
    if workspace.state == Workspace.State.PAUSED:
        return "paused"
    if execution.execute_after is not None and execution.execute_after > now:
        return "scheduled"
    step = execution.step
    requires = policies.effective_requires(
        run_requires.get(step.run_id),
        None if step.number == 1 else step.options.get("requires"),
    )
    target = (step.module, step.target, step.target_type)
    hosted = any(
        policies.can_run(targets, provides, accepts, target, requires)
        for targets, provides, accepts in sessions
    )
    return "waiting" if hosted else "no session"
