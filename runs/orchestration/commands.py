"""Commands the API sends the orchestrator (see ``projects.mailbox``): cancel, re-run, archive,
and respond to or dismiss an input."""

from __future__ import annotations

from typing import Any

from projects.errors import Code
from runs.models import Execution, Step
from runs.orchestration import inputs, loading, outcomes, records, sessions
from runs.orchestration.envelopes import (
    ArchiveCommand,
    CancelCommand,
    Reply,
    RerunCommand,
    refusal,
)
from runs.orchestration.memory import Memory, remember
from runs.orchestration.tick import Tick
from runs.states import UNFINISHED
from workspaces.models import Workspace


def apply(memory: Memory, tick: Tick, command: Any) -> Reply:
    """Carry out a command and say how it went."""
    kind = command.get("type") if isinstance(command, dict) else None
    if kind == "cancel" and isinstance(command.get("execution"), str):
        return cancel(memory, tick, command)
    if kind == "rerun" and isinstance(command.get("step"), str):
        return rerun(memory, tick, command)
    if kind == "archive" and isinstance(command.get("workspace"), str):
        return archive(memory, tick, command)
    if kind == "respond_input":
        return inputs.respond(memory, tick, command)
    if kind == "dismiss_input":
        return inputs.dismiss(memory, tick, command)
    return refusal(Code.INVALID_COMMAND, f"Unknown command {kind!r}.")


def cancel(memory: Memory, tick: Tick, command: CancelCommand) -> Reply:
    target = command["execution"]
    known = outcomes.chains(memory, [target])[target][0] != "unknown"
    if not known or not _in_project(memory, target):
        return refusal(Code.EXECUTION_NOT_FOUND, f"No execution {target!r}.")
    return {"ok": True, "cancelled": outcomes.cancel(memory, tick, [target])}


def _in_project(memory: Memory, execution_id: str) -> bool:
    if memory.unfinished(execution_id) is not None:
        return True
    return Execution.objects.filter(
        id=execution_id, workspace__project_id=memory.project_id
    ).exists()


def rerun(memory: Memory, tick: Tick, command: RerunCommand) -> Reply:
    """A new attempt at a step, due now, in the given workspace (SPEC §3.12)."""
    step_id, workspace_name = command["step"], command.get("workspace")
    step = (
        Step.objects.filter(id=step_id, run__project_id=memory.project_id)
        .select_related("parent")
        .first()
    )
    if step is None:
        return refusal(Code.STEP_NOT_FOUND, f"No step {step_id!r}.")
    executions = list(step.executions.order_by("attempt"))
    if not executions:
        return refusal(Code.STEP_NOT_FOUND, f"Step {step_id!r} has no executions.")
    base = step.parent.workspace_id if step.parent is not None else executions[0].workspace_id
    if workspace_name is None:
        workspace_id = executions[-1].workspace_id
    else:
        found = memory.workspace_named(workspace_name)
        if found is None:
            # Created since the orchestrator last looked (a manifest or submission made it).
            loading.load_workspaces(memory)
            found = memory.workspace_named(workspace_name)
        if found is None:
            return refusal(Code.WORKSPACE_NOT_FOUND, f"No workspace {workspace_name!r}.")
        workspace_id = found
    if base not in memory.ancestry(workspace_id):
        return refusal(
            Code.WORKSPACE_INVALID,
            f"Step {step_id} can only be re-run in workspace "
            f"{memory.workspaces[base].name!r} or its descendants.",
        )
    unfinished = [
        e.id for e in executions if e.state in UNFINISHED and e.workspace_id == workspace_id
    ]
    if unfinished:
        outcomes.cancel(memory, tick, unfinished)
    latest = executions[-1]
    latest.step = step
    attempt = max(e.attempt for e in executions) + 1
    spec = outcomes.next_attempt(
        memory,
        tick,
        loading.spec_from_row(memory, latest),
        None,
        attempt=attempt,
        workspace_id=workspace_id,
    )
    if step.memo_key:
        # Later calls with this memo key get the re-run's outcome.
        remember(memory.memos, (step.run_id, step.memo_key), spec.id)
    return {"ok": True, "execution_id": spec.id, "attempt": attempt, "step_id": step_id}


def archive(memory: Memory, tick: Tick, command: ArchiveCommand) -> Reply:
    """Archive a workspace (SPEC §1): its queued work is cancelled and its workers' sessions
    end (what they ran is abandoned, and they are told so); refused while it has live
    children."""
    name = command["workspace"]
    loading.load_workspaces(memory)
    workspace_id = memory.workspace_named(name)
    if workspace_id is None:
        return refusal(Code.WORKSPACE_NOT_FOUND, f"No workspace {name!r}.")
    children = sorted(
        ws.name
        for ws in memory.workspaces.values()
        if ws.base_id == workspace_id and ws.state != "archived"
    )
    if children:
        return refusal(
            Code.WORKSPACE_HAS_CHILDREN,
            f"Workspace {name!r} still has workspaces based on it: {', '.join(children)}.",
        )
    Workspace.objects.filter(id=workspace_id).update(state=Workspace.State.ARCHIVED)
    memory.workspaces[workspace_id].state = "archived"
    queued = [spec for spec in memory.pending.values() if spec.workspace_id == workspace_id]
    cancelled = outcomes.cancel_specs(memory, tick, queued)
    ended = [s for s in memory.sessions.values() if s.workspace_id == workspace_id]
    for session in ended:
        tick.send(
            session.channel,
            records.error(Code.WORKSPACE_ARCHIVED, "the workspace was archived"),
        )
    sessions.end(memory, tick, ended)
    return {"ok": True, "cancelled": cancelled, "sessions": [s.id for s in ended]}
