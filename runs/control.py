"""Cancelling executions and re-running steps from outside a worker (the API, the CLI, Studio).

Both change what the orchestrator holds in memory, so they are commands to the project's
orchestrator (``projects.mailbox``), which applies them in a tick and replies once that
has committed. Here the identifiers are checked against the project first, so that a project's
API never reaches another project's runs, and the reply is returned as the API shows it.
"""

from __future__ import annotations

from typing import TypedDict

from projects.errors import Code, DomainError
from projects.mailbox import call_orchestrator
from projects.models import Project
from runs.identifiers import is_execution_id, is_step_id
from runs.models import Execution, Step
from workspaces.models import Workspace


class Rerun(TypedDict):
    run_id: str
    step_id: str
    execution_id: str
    attempt: int


def cancel_execution(project: Project, execution_id: str) -> list[str]:
    """Cancel the execution (following forwards) and its unfinished same-workspace descendants.

    Returns the IDs of the executions that were cancelled: none if it had already finished.
    """
    found = is_execution_id(execution_id) and (
        Execution.objects.filter(pk=execution_id, step__run__project=project).exists()
    )
    if not found:
        raise DomainError(
            f"No execution {execution_id!r}.",
            code=Code.EXECUTION_NOT_FOUND,
            details={"execution": execution_id},
        )
    reply = call_orchestrator(project.pk, {"type": "cancel", "execution": execution_id})
    return [str(cancelled) for cancelled in reply.get("cancelled", [])]


def rerun_step(project: Project, step_id: str, workspace: Workspace | None = None) -> Rerun:
    """Start a new attempt at the step, due now and ignoring the cache.

    In ``workspace``, which must be the workspace of the step's base execution or a descendant
    of it (else ``workspace_invalid``); by default the workspace of the step's latest execution.
    The step's unfinished executions in that workspace are cancelled.
    """
    step = (
        Step.objects.filter(pk=step_id, run__project=project).only("id", "run_id").first()
        if is_step_id(step_id)
        else None
    )
    if step is None:
        raise DomainError(
            f"No step {step_id!r}.", code=Code.STEP_NOT_FOUND, details={"step": step_id}
        )
    command = {
        "type": "rerun",
        "step": step.id,
        "workspace": workspace.name if workspace is not None else None,
    }
    reply = call_orchestrator(project.pk, command)
    return {
        "run_id": step.run_id,
        "step_id": step.id,
        "execution_id": str(reply["execution_id"]),
        "attempt": int(reply["attempt"]),
    }
