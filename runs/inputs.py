"""Inputs from outside a worker (the API, the CLI, Studio): listing, reading, answering.

Answering changes what the orchestrator holds (who waits for the input, suspended executions
to resume), so a response or a dismissal is a command to the project's orchestrator, which
checks the response against the input's schema, takes only the first answer, and replies once
that has committed (``runs.orchestration.inputs``).

Who may answer: whoever has the ``respond`` grant in the input's workspace and, for a person,
is in the groups its ``requires`` names (``projects.permissions.meets_requires``). The API and
Studio check it (``check_may_answer``, ``check_requires``) before they answer.
"""

from __future__ import annotations

from typing import Any

from coflux_wire.values import MAX_DATA_DEPTH, depth
from projects.errors import Code, DomainError
from projects.mailbox import call_orchestrator
from projects.models import Project
from projects.permissions import Action, check, may, meets_requires, requires_in_words
from projects.principals import Principal
from runs.models import Input
from runs.orchestration.inputs import is_input_id
from runs.values import from_plain_json
from workspaces.models import Workspace

STATES = frozenset(Input.State.values)


def workspace_inputs(
    workspace: Workspace, *, run_id: str | None = None, state: str | None = None
) -> list[Input]:
    """The inputs asked in a workspace, oldest first; optionally of one run, in one state."""
    found = Input.objects.filter(workspace=workspace).select_related("workspace")
    if run_id is not None:
        found = found.filter(run_id=run_id)
    if state is not None:
        if state not in STATES:
            raise DomainError(
                f"'state' must be one of {', '.join(sorted(STATES))}.", code=Code.INVALID_REQUEST
            )
        found = found.filter(state=state)
    return list(found.order_by("created_at", "id"))


def pending_count(workspace: Workspace) -> int:
    return Input.objects.filter(workspace=workspace, state=Input.State.PENDING).count()


def input_by_id(project: Project, input_id: str) -> Input:
    found = (
        Input.objects.filter(id=input_id, run__project=project).select_related("workspace").first()
        if is_input_id(input_id)
        else None
    )
    if found is None:
        raise DomainError(
            f"No input {input_id!r}.", code=Code.INPUT_NOT_FOUND, details={"input": input_id}
        )
    return found


def may_answer(who: Any, found: Input) -> bool:
    """Whether ``who`` (a ``Principal`` or a Django user) may respond to or dismiss ``found``:
    the ``respond`` grant in its workspace, and its ``requires`` met."""
    return may(who, Action.RESPOND, found.workspace) and meets_requires(who, found.requires)


def for_whom(found: Input) -> str:
    """Whom an input is for, as the groups needed (``team:ops or team:sre``); empty when it is
    for anyone who may respond in its workspace."""
    return requires_in_words(found.requires)


def check_requires(who: Any, found: Input) -> None:
    """Refuse (``forbidden``) a person outside the groups ``found``'s ``requires`` names,
    saying which groups it is for."""
    if not meets_requires(who, found.requires):
        raise DomainError(
            f"This input is for {for_whom(found)}.",
            code=Code.FORBIDDEN,
            details={"input": found.id, "requires": found.requires},
        )


def check_may_answer(who: Principal, found: Input) -> None:
    """Refuse (``forbidden``) unless ``may_answer``: the ``respond`` grant, then ``requires``."""
    check(who, Action.RESPOND, found.workspace)
    check_requires(who, found)


def respond_input(project: Project, input_id: str, value: Any, by: str = "") -> Input:
    """Answer an input with ``value`` (JSON; ``None`` is a value), once.

    Refused if the input was already answered (``input_already_answered``) or the value does
    not match its schema (``invalid_response``).
    """
    found = input_by_id(project, input_id)
    if depth(from_plain_json(value)["data"], MAX_DATA_DEPTH) > MAX_DATA_DEPTH:
        raise DomainError(
            f"The response nests too deeply: at most {MAX_DATA_DEPTH} levels of lists, each "
            "object counting as two.",
            code=Code.INVALID_RESPONSE,
        )
    command = {"type": "respond_input", "input": found.id, "value": value, "by": by}
    call_orchestrator(project.pk, command)
    found.refresh_from_db()
    return found


def dismiss_input(project: Project, input_id: str, by: str = "") -> Input:
    """Decline to answer an input: whoever waits for it gets ``InputDismissed``."""
    found = input_by_id(project, input_id)
    call_orchestrator(project.pk, {"type": "dismiss_input", "input": found.id, "by": by})
    found.refresh_from_db()
    return found


def response_of(found: Input) -> dict[str, Any] | None:
    """How an input was answered: ``{"type": "value", "value"}``, ``{"type": "dismissed"}``,
    ``{"type": "cancelled"}``; ``None`` while pending."""
    if found.state == Input.State.PENDING:
        return None
    if found.state == Input.State.RESPONDED:
        return {"type": "value", "value": found.response}
    return {"type": str(found.state)}
