"""Creating a run: the one way a run comes to exist, with its root step and first execution.

A run starts from a submission (the API, the CLI, Studio) or from a workflow called inside an
execution (a spawned run, made by the orchestrator). Both go through ``create_run``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from runs.identifiers import new_run_id
from runs.models import Execution, Run, Step
from runs.states import State


def create_run(
    *,
    project_id: int,
    workspace_id: int,
    module: str,
    target: str,
    arguments: list[dict[str, Any]],
    options: dict[str, Any],
    now: datetime,
    due: datetime | None,
    parent_id: str | None = None,
    requires: dict[str, list[str]] | None = None,
    idempotency_key: str = "",
    run_id: str | None = None,
    created_by: str = "",
) -> Execution:
    """Create a run of the workflow ``module/target`` and return its root's first execution.

    ``arguments`` are wire values and ``options`` the root step's (the workflow's registered
    ones, with a submission's overrides); the execution is queued, and due at ``due`` (``None``:
    at once). ``parent_id`` is the execution that spawned the run, ``requires`` the run's
    own requires when they differ from its workflow's, ``created_by`` who submitted it. A
    fresh identifier is drawn unless ``run_id`` is given.
    """
    run = _insert_run(
        Run(
            id=run_id or "",
            project_id=project_id,
            workspace_id=workspace_id,
            parent_id=parent_id,
            requires=requires,
            idempotency_key=idempotency_key,
            created_by=created_by,
            created_at=now,
        )
    )
    step = Step.objects.create(
        id=f"{run.id}:1",
        run=run,
        number=1,
        module=module,
        target=target,
        target_type="workflow",
        arguments=arguments,
        options=options,
        created_at=now,
    )
    return Execution.objects.create(
        id=f"{step.id}:1",
        step=step,
        attempt=1,
        workspace_id=workspace_id,
        state=State.QUEUED,
        created_at=now,
        execute_after=due,
    )


def _insert_run(run: Run) -> Run:
    if run.id:
        run.save(force_insert=True)
        return run
    while True:
        run.id = new_run_id(lambda candidate: Run.objects.filter(pk=candidate).exists())
        try:
            with transaction.atomic():
                run.save(force_insert=True)
            return run
        except IntegrityError:
            # Another run took the identifier since it was checked: draw again.
            continue
