"""What running executions tell the orchestrator: starts, logs, calls (with memoisation), waits,
cancellations and results."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max

from runs import keys
from runs.models import Dependency, Execution, Step
from runs.orchestration import policies, records
from runs.orchestration.records import log_row
from runs.orchestration.state import (
    ExecutionSpec,
    Outbox,
    SessionState,
)
from runs.states import State

MAX_LOG_ENTRIES = 1000


class Messages:
    """The part of ``Orchestrator`` that applies messages of running executions."""

    def _started(self, items, finishing: set[str], now: datetime) -> None:
        ids = [m["execution"] for session, _, m in items if m["execution"] in session.executions]
        # Executions that also finish in this tick get their start time with their result.
        self.starting = {i for i in ids if i in finishing}
        ids = [i for i in ids if i not in self.starting]
        if ids:
            self.batch.update(Execution, ids, {"started_at": now}, started_at=None)

    def _logs(self, items, outbox: Outbox) -> None:
        rows = []
        for session, channel, message in items:
            execution_id = message["execution"]
            if execution_id not in session.executions:
                continue
            for entry in message["entries"][:MAX_LOG_ENTRIES]:
                row = log_row(execution_id, entry)
                if row is None:
                    outbox.append(
                        (
                            channel,
                            records.error(
                                "invalid_log",
                                "log entries are [timestamp_ms, level, template, values]",
                            ),
                        )
                    )
                    break
                rows.append(row)
        if rows:
            self.batch.insert(rows)

    def _submits(self, items, now: datetime, outbox: Outbox) -> None:
        if not items:
            return
        self._load_submitted_refs({m["parent"] for _, _, m in items})
        run_ids = {m["parent"].split(":", 1)[0] for _, _, m in items}
        self._load_step_counts(run_ids)
        self._load_runs(run_ids)
        self._load_memos(items)
        steps: list[Step] = []
        dependencies: list[Dependency] = []
        for session, channel, message in items:
            parent_id = message["parent"]
            ref = message["ref"]
            error = _check_submit(message, session, parent_id)
            if error is not None:
                outbox.append((channel, {**records.error("invalid_submit", error), "ref": ref}))
                continue
            run_id = parent_id.split(":", 1)[0]
            existing = self.submitted.get((parent_id, ref))
            memo = self._memo_key(run_id, message)
            reused = self._memoised(run_id, memo, session.workspace_id) if memo else None
            if existing is not None:
                step_id, execution_id = existing
            elif reused is not None:
                step_id, execution_id = reused.rsplit(":", 1)[0], reused
                self.submitted[(parent_id, ref)] = (step_id, execution_id)
            else:
                step = self._new_step(session, message, run_id, memo, now)
                steps.append(step)
                step_id, execution_id = step.id, f"{step.id}:1"
                self.submitted[(parent_id, ref)] = (step_id, execution_id)
                if memo:
                    self._remember(self.memos, (run_id, memo), execution_id)
            if message["wait"] or reused is not None:
                dependencies.append(
                    Dependency(
                        execution_id=parent_id,
                        dependency_id=execution_id,
                        memo_hit=reused is not None,
                        created_at=now,
                    )
                )
            outbox.append(
                (
                    channel,
                    {"type": "submitted", "ref": ref, "execution": execution_id, "step": step_id},
                )
            )
            if existing is not None or reused is not None:
                # Not a new child: its outcome may be known already, and is not pushed unasked.
                self._watch(parent_id, execution_id, outbox)
        self.batch.insert(steps)
        self.batch.insert(dependencies, ignore_conflicts=True)

    def _new_step(
        self,
        session: SessionState,
        message: dict[str, Any],
        run_id: str,
        memo: str,
        now: datetime,
    ) -> Step:
        """Record a call as a new step with a queued first execution."""
        number = self.step_counts[run_id] = self.step_counts[run_id] + 1
        step_id = f"{run_id}:{number}"
        options, arguments = message["options"], message["arguments"]
        module, target = message["module"], message["target"]
        defer = keys.defer_key(module, target, arguments, options.get("defer"))
        cache = keys.cache_key(module, target, arguments, options.get("cache"))
        delay_ms = options.get("delay_ms") or 0
        execute_after = now + timedelta(milliseconds=delay_ms) if delay_ms else None
        # Inserted after dispatch, so that most are written once, already assigned.
        self.new_executions[f"{step_id}:1"] = Execution(
            id=f"{step_id}:1",
            step_id=step_id,
            attempt=1,
            workspace_id=session.workspace_id,
            created_at=now,
            execute_after=execute_after,
        )
        spec = ExecutionSpec(
            id=f"{step_id}:1",
            step_id=step_id,
            run_id=run_id,
            attempt=1,
            workspace_id=session.workspace_id,
            module=message["module"],
            target=message["target"],
            target_type=message["target_type"],
            arguments=arguments,
            options=options,
            created_at=now,
            execute_after=execute_after,
            parent_id=message["parent"],
            owner_id=message["parent"],
            requires=policies.effective_requires(
                self.runs[run_id].requires, options.get("requires")
            ),
            defer_key=defer,
            cache_key=cache,
        )
        self._queue(spec)
        self._block_pending(spec, [])
        group_name = message.get("group_name")
        return Step(
            id=step_id,
            run_id=run_id,
            number=number,
            module=message["module"],
            target=message["target"],
            target_type=message["target_type"],
            parent_id=message["parent"],
            parent_ref=message["ref"],
            group=message["group"],
            group_name=group_name[:255] if isinstance(group_name, str) else "",
            arguments=arguments,
            options=options,
            memo_key=memo,
            defer_key=defer,
            cache_key=cache,
            created_at=now,
        )

    def _memo_key(self, run_id: str, message: dict[str, Any]) -> str:
        memo = message["options"].get("memo")
        if memo is None:
            memo = self.runs[run_id].memo
        return keys.memo_key(message["module"], message["target"], message["arguments"], memo)

    def _load_memos(self, items) -> None:
        """Find earlier steps of the same runs with the memo keys these calls have."""
        wanted = set()
        for _, _, message in items:
            if isinstance(message.get("options"), dict) and isinstance(message.get("parent"), str):
                run_id = message["parent"].split(":", 1)[0]
                if run_id in self.runs and isinstance(message.get("arguments"), list):
                    memo = self._memo_key(run_id, message)
                    if memo and (run_id, memo) not in self.memos:
                        wanted.add((run_id, memo))
        if not wanted:
            return
        rows = (
            Execution.objects.filter(
                step__run_id__in={r for r, _ in wanted}, step__memo_key__in={k for _, k in wanted}
            )
            .exclude(state__in=[State.FAILED, State.TIMED_OUT, State.ABANDONED, State.CANCELLED])
            .order_by("created_at")
            .values_list("id", "step__run_id", "step__memo_key")
        )
        for execution_id, run_id, memo in rows:
            if (run_id, memo) in wanted:
                self._remember(self.memos, (run_id, memo), execution_id)

    def _memoised(self, run_id: str, memo: str, workspace_id: int) -> str | None:
        """The execution a memoised call reuses: pending or succeeded, in this workspace or an
        ancestor."""
        execution_id = self.memos.get((run_id, memo))
        if execution_id is None:
            return None
        status, end = self._chains([execution_id])[execution_id]
        if status == "unknown" or status == "done" and end.get("type") != "value":
            return None
        workspace = self._workspace_of(execution_id)
        if workspace is not None and workspace not in self._ancestry(workspace_id):
            return None
        return execution_id

    def _workspace_of(self, execution_id: str) -> int | None:
        spec = self.pending.get(execution_id) or self.running.get(execution_id)
        if spec is not None:
            return spec.workspace_id
        new = self.new_executions.get(execution_id)
        if new is not None:
            return new.workspace_id
        stored = Execution.objects.filter(id=execution_id).values_list("workspace_id", flat=True)
        return stored.first()

    def _ancestry(self, workspace_id: int) -> list[int]:
        chain: list[int] = []
        current: int | None = workspace_id
        while current is not None and current not in chain:
            chain.append(current)
            info = self.workspaces.get(current)
            current = info.base_id if info else None
        return chain

    def _watch(self, waiter: str, target: str, outbox: Outbox) -> None:
        """Tell ``waiter`` the outcome of ``target`` now if it has one, else when it has."""
        status, end = self._chains([target])[target]
        if status == "done":
            self._send_to_execution(waiter, records.resolved(waiter, target, end), outbox)
        elif status == "pending":
            self.waiters[end].add((waiter, target))

    def _load_submitted_refs(self, parents: set[str]) -> None:
        """After a restart, learn which calls of running executions already became steps."""
        unknown = parents - self.known_parents
        if not unknown:
            return
        for step_id, parent_id, ref in Step.objects.filter(parent_id__in=unknown).values_list(
            "id", "parent_id", "parent_ref"
        ):
            self.submitted[(parent_id, ref)] = (step_id, f"{step_id}:1")
        self.known_parents |= unknown

    def _load_step_counts(self, runs: set[str]) -> None:
        unknown = runs - self.step_counts.keys()
        if unknown:
            counts = dict(
                Step.objects.filter(run_id__in=unknown)
                .values_list("run_id")
                .annotate(Max("number"))
                .values_list("run_id", "number__max")
            )
            for run_id in unknown:
                self.step_counts[run_id] = counts.get(run_id) or 0

    def _waits(self, items, now: datetime, outbox: Outbox) -> None:
        if not items:
            return
        chains = self._chains({t for _, _, m in items for t in m["targets"]})
        dependencies = []
        for session, channel, message in items:
            waiter = message["execution"]
            if waiter not in session.executions:
                outbox.append(
                    (
                        channel,
                        {
                            **records.error("invalid_wait", f"{waiter} is not running here"),
                            "execution": waiter,
                        },
                    )
                )
                continue
            unresolved = []
            for target in message["targets"]:
                status, end = chains[target]
                if status == "unknown":
                    outbox.append(
                        (
                            channel,
                            {
                                **records.error("unknown_execution", f"no execution {target}"),
                                "execution": waiter,
                                "target": target,
                            },
                        )
                    )
                    continue
                dependencies.append(
                    Dependency(execution_id=waiter, dependency_id=target, created_at=now)
                )
                if not message["reply"]:
                    continue
                if status == "done":
                    outbox.append((channel, records.resolved(waiter, target, end)))
                else:
                    self.waiters[end].add((waiter, target))
                    unresolved.append(target)
            if unresolved:
                outbox.append(
                    (channel, {"type": "pending", "execution": waiter, "targets": unresolved})
                )
        self.batch.insert(dependencies, ignore_conflicts=True)

    def _cancels(self, items, now: datetime, outbox: Outbox) -> None:
        targets = [t for session, _, m in items for t in m["targets"] if isinstance(t, str)]
        if targets:
            self._cancel(targets, now, outbox)

    def _results(self, items, now: datetime, outbox: Outbox) -> None:
        accepted: list[tuple[str, dict[str, Any]]] = []
        late: list[tuple[str, str]] = []
        for session, channel, message in items:
            execution_id = message["execution"]
            running = self.running.get(execution_id)
            if running is not None and running.session_id == session.id:
                accepted.append((execution_id, message["result"]))
            else:
                # Already finished (first result wins) or never ours: the worker may forget it.
                late.append((channel, execution_id))
        self._finish(accepted, now, outbox, ack=True)
        outbox.extend((channel, {"type": "ack", "execution": e}) for channel, e in late)


def _check_submit(message: dict[str, Any], session: SessionState, parent_id: str) -> str | None:
    if parent_id not in session.executions:
        return f"the parent execution {parent_id} is not running on this worker"
    if message["target_type"] not in ("workflow", "task"):
        return f"unknown target type {message['target_type']!r}"
    if not message["module"] or not message["target"]:
        return "module and target must not be empty"
    if not all(
        isinstance(a, dict) and a.get("type") in ("inline", "blob") for a in message["arguments"]
    ):
        return "arguments must be values in the wire format"
    return None
