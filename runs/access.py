"""The workspace a run, a step or an execution belongs to: what the API asks
``projects.permissions`` about before acting on it."""

from __future__ import annotations

from projects.errors import Code, DomainError
from projects.models import Project
from runs.identifiers import is_execution_id, is_run_id, is_step_id
from runs.models import Execution, Run
from runs.snapshots import run_not_found
from workspaces.models import Workspace


def run_workspace(project: Project, run_id: str) -> Workspace:
    """The workspace the run was submitted in (``run_not_found`` if there is no such run)."""
    run = (
        Run.objects.filter(project=project, pk=run_id).select_related("workspace").first()
        if is_run_id(run_id)
        else None
    )
    if run is None:
        raise run_not_found(run_id)
    return run.workspace


def existing_execution(project: Project, execution_id: str) -> Execution:
    """The project's execution with its workspace; refused with ``execution_not_found`` if
    there is none."""
    execution = (
        Execution.objects.filter(pk=execution_id, step__run__project=project)
        .select_related("workspace")
        .first()
        if is_execution_id(execution_id)
        else None
    )
    if execution is None:
        raise DomainError(
            f"No execution {execution_id!r}.",
            code=Code.EXECUTION_NOT_FOUND,
            details={"execution": execution_id},
        )
    return execution


def execution_workspace(project: Project, execution_id: str) -> Workspace:
    """The workspace the execution runs in."""
    return existing_execution(project, execution_id).workspace


def step_workspace(project: Project, step_id: str) -> Workspace:
    """The workspace of the step's latest attempt, where a re-run goes by default."""
    execution = (
        Execution.objects.filter(step_id=step_id, step__run__project=project)
        .select_related("workspace")
        .order_by("-attempt")
        .first()
        if is_step_id(step_id)
        else None
    )
    if execution is None:
        raise DomainError(
            f"No step {step_id!r}.", code=Code.STEP_NOT_FOUND, details={"step": step_id}
        )
    return execution.workspace
