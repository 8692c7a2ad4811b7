"""Commands the API sends the orchestrator (see ``calls``): cancel, re-run, archive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runs.models import Execution, Step
from runs.orchestration import records
from runs.orchestration.state import (
    Outbox,
)
from runs.states import UNFINISHED
from workspaces.models import Workspace


class Commands:
    """The part of ``Orchestrator`` that carries out commands and replies to them."""

    def _command(self, command: Any, now: datetime, outbox: Outbox) -> dict[str, Any]:
        kind = command.get("type") if isinstance(command, dict) else None
        if kind == "cancel" and isinstance(command.get("execution"), str):
            target = command["execution"]
            if self._chains([target])[target][0] == "unknown" or not self._in_project(target):
                return records.refusal("execution_not_found", f"No execution {target!r}.")
            return {"ok": True, "cancelled": self._cancel([target], now, outbox)}
        if kind == "rerun" and isinstance(command.get("step"), str):
            return self._rerun(command["step"], command.get("workspace"), now, outbox)
        if kind == "archive" and isinstance(command.get("workspace"), str):
            return self._archive(command["workspace"], now, outbox)
        return records.refusal("invalid_command", f"Unknown command {kind!r}.")

    def _in_project(self, execution_id: str) -> bool:
        if execution_id in self.pending or execution_id in self.running:
            return True
        return Execution.objects.filter(
            id=execution_id, workspace__project_id=self.project_id
        ).exists()

    def _rerun(
        self, step_id: str, workspace_name: Any, now: datetime, outbox: Outbox
    ) -> dict[str, Any]:
        """A new attempt at a step, due now, in the given workspace (SPEC §3.12)."""
        step = (
            Step.objects.filter(id=step_id, run__project_id=self.project_id)
            .select_related("parent")
            .first()
        )
        if step is None:
            return records.refusal("step_not_found", f"No step {step_id!r}.")
        executions = list(step.executions.order_by("attempt"))
        if not executions:
            return records.refusal("step_not_found", f"Step {step_id!r} has no executions.")
        base = step.parent.workspace_id if step.parent is not None else executions[0].workspace_id
        if workspace_name is None:
            workspace_id = executions[-1].workspace_id
        else:
            found = self._workspace_named(workspace_name)
            if found is None:
                # Created since the orchestrator last looked (a manifest or submission made it).
                self._load_workspaces()
                found = self._workspace_named(workspace_name)
            if found is None:
                return records.refusal("workspace_not_found", f"No workspace {workspace_name!r}.")
            workspace_id = found
        if base not in self._ancestry(workspace_id):
            return records.refusal(
                "workspace_invalid",
                f"Step {step_id} can only be re-run in workspace "
                f"{self.workspaces[base].name!r} or its descendants.",
            )
        unfinished = [
            e.id for e in executions if e.state in UNFINISHED and e.workspace_id == workspace_id
        ]
        if unfinished:
            self._cancel(unfinished, now, outbox)
        self._load_runs({step.run_id})
        latest = self._spec_from_row(executions[-1])
        attempt = max(e.attempt for e in executions) + 1
        spec = self._next_attempt(latest, now, None, attempt=attempt, workspace_id=workspace_id)
        if step.memo_key:
            # Later calls with this memo key get the re-run's outcome.
            self._remember(self.memos, (step.run_id, step.memo_key), spec.id)
        return {"ok": True, "execution_id": spec.id, "attempt": attempt, "step_id": step_id}

    def _archive(self, name: str, now: datetime, outbox: Outbox) -> dict[str, Any]:
        """Archive a workspace (SPEC §1): its queued work is cancelled and its workers' sessions
        end (what they ran is abandoned, and they are told so); refused while it has live
        children."""
        self._load_workspaces()
        workspace_id = self._workspace_named(name)
        if workspace_id is None:
            return records.refusal("workspace_not_found", f"No workspace {name!r}.")
        children = sorted(
            ws.name
            for ws in self.workspaces.values()
            if ws.base_id == workspace_id and ws.state != "archived"
        )
        if children:
            return records.refusal(
                "workspace_has_children",
                f"Workspace {name!r} still has workspaces based on it: {', '.join(children)}.",
            )
        Workspace.objects.filter(id=workspace_id).update(state=Workspace.State.ARCHIVED)
        self.workspaces[workspace_id].state = "archived"
        queued = [spec for spec in self.pending.values() if spec.workspace_id == workspace_id]
        cancelled = self._cancel_specs(queued, now, outbox)
        sessions = [s for s in self.sessions.values() if s.workspace_id == workspace_id]
        for session in sessions:
            if session.channel:
                outbox.append(
                    (
                        session.channel,
                        records.error("workspace_archived", "the workspace was archived"),
                    )
                )
        self._end_sessions(sessions, now, outbox)
        return {"ok": True, "cancelled": cancelled, "sessions": [s.id for s in sessions]}

    def _workspace_named(self, name: Any) -> int | None:
        if not isinstance(name, str):
            return None
        for workspace_id, workspace in self.workspaces.items():
            if workspace.name.lower() == name.lower() and workspace.state != "archived":
                return workspace_id
        return None
