"""Submitting a run of a registered workflow from outside a worker (the API, the CLI, Studio)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

from projects.errors import Code, DomainError
from projects.mailbox import wake_after_commit
from runs.creation import create_run
from runs.models import Execution
from runs.orchestration import policies
from workspaces.models import Target, Workspace

UNSET = object()
"""Requires not given at all (``None`` means none)."""

IDEMPOTENCY_WINDOW = timedelta(hours=24)
OVERRIDABLE_OPTIONS = frozenset({"delay_ms", "retries", "requires", "memo"})
"""Options of a workflow that a submission may replace for its run's root step."""


class InvalidArguments(DomainError):
    code = Code.INVALID_ARGUMENTS


def find_workflow(workspace: Workspace, module: str, target: str) -> Target:
    """The workflow registered as ``module/target`` in the workspace's manifests."""
    found = Target.objects.workflow(workspace, module, target)
    if found is None:
        raise DomainError(
            f"No workflow {target!r} registered in module {module!r} "
            f"of workspace {workspace.name!r}.",
            code=Code.TARGET_NOT_FOUND,
            details={"module": module, "target": target},
        )
    return found


def check_arguments(workflow: Target, arguments: list[Any]) -> None:
    """Raise ``InvalidArguments`` unless the arguments fit the workflow's parameters."""
    parameters = workflow.parameters
    if len(arguments) > len(parameters):
        raise InvalidArguments(
            f"{workflow} takes {len(parameters)} argument(s), {len(arguments)} given."
        )
    missing = [p["name"] for p in parameters[len(arguments) :] if p.get("default") is None]
    if missing:
        raise InvalidArguments(
            f"{workflow} is missing argument(s): {', '.join(missing)}.",
            details={"missing": missing},
        )


def find_idempotent_submission(workspace: Workspace, idempotency_key: str) -> Execution | None:
    """The root execution of the run submitted with this key in the last 24 hours, if any."""
    since = timezone.now() - IDEMPOTENCY_WINDOW
    return Execution.objects.idempotent_root(workspace, idempotency_key, since)


def root_options(workflow: Target, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The root step's options: the registered workflow's, with ``overrides`` replacing keys.

    ``overrides`` holds options in their stored shape (see ``OVERRIDABLE_OPTIONS``).
    """
    unknown = set(overrides or {}) - OVERRIDABLE_OPTIONS
    if unknown:
        raise ValueError(f"options that cannot be overridden: {sorted(unknown)}")
    return {**workflow.options, **(overrides or {})}


def overrides_of(
    *,
    delay: float | None = None,
    retries: int | None = None,
    requires: dict[str, list[str]] | None | object = UNSET,
    memo: bool | None = None,
) -> dict[str, Any]:
    """The root step's options a submission replaces, in their stored shape, from what a person
    or a script gives (the API's fields, the CLI's flags, Studio's form): a delay in seconds,
    retries as the SDK's ``retries=n`` (up to n, each straight after the failure), requires
    (``None``: none at all), memo."""
    overrides: dict[str, Any] = {}
    if delay is not None:
        overrides["delay_ms"] = round(delay * 1000)
    if retries is not None:
        overrides["retries"] = (
            {"limit": retries, "backoff_min_ms": 0, "backoff_max_ms": 0} if retries else None
        )
    if requires is not UNSET:
        overrides["requires"] = requires
    if memo is not None:
        overrides["memo"] = memo
    return overrides


def submit_run(
    workspace: Workspace,
    module: str,
    target: str,
    arguments: list[dict[str, Any]],
    *,
    idempotency_key: str = "",
    overrides: dict[str, Any] | None = None,
    created_by: str = "",
) -> Execution:
    """Start a run of a registered workflow (see ``submit``) and return its root execution."""
    return submit(
        workspace,
        module,
        target,
        arguments,
        idempotency_key=idempotency_key,
        overrides=overrides,
        created_by=created_by,
    ).execution


class Submission(NamedTuple):
    execution: Execution
    """The run's root execution."""
    created: bool
    """False when an idempotency key found a run submitted before."""


def submit(
    workspace: Workspace,
    module: str,
    target: str,
    arguments: list[dict[str, Any]],
    *,
    idempotency_key: str = "",
    overrides: dict[str, Any] | None = None,
    created_by: str = "",
) -> Submission:
    """Start a run of a registered workflow; ``arguments`` are wire values.

    Creates the run, its root step and first execution (queued) in one transaction and wakes the
    project's orchestrator once it commits. The root step gets the workflow's registered
    options with ``overrides`` applied (``delay_ms``, ``retries``, ``requires``, ``memo``), and
    its first execution is due after ``delay_ms``. With an idempotency key that was used in the
    workspace in the last 24 hours, returns that run's root execution instead (whatever the
    overrides). ``created_by`` names who submitted it (a Studio user).
    """
    workflow = find_workflow(workspace, module, target)
    check_arguments(workflow, arguments)
    options = root_options(workflow, overrides)
    now = timezone.now()
    with transaction.atomic():
        if idempotency_key:
            # Two submissions with the same key would both find no run and both create one;
            # the row lock on the workspace makes the second wait and find the first's run.
            Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
            existing = find_idempotent_submission(workspace, idempotency_key)
            if existing is not None:
                return Submission(existing, created=False)
        execution = create_run(
            project_id=workspace.project_id,
            workspace_id=workspace.pk,
            module=module,
            target=target,
            arguments=arguments,
            options=options,
            now=now,
            due=policies.due_at(now, options.get("delay_ms")),
            idempotency_key=idempotency_key,
            created_by=created_by,
        )
        wake_after_commit(workspace.project_id, [execution.id])
    return Submission(execution, created=True)
