"""A run's outline: every step and attempt with its state and times, but none of its values.

The run page's graph and timeline draw from it. It is read in a fixed number of queries
whatever the size of the run, as plain rows (``values_list``), and leaves out arguments,
results and logs: only the step panel loads those, for the one step it shows. The one
exception is the results of steps that ran more than once, which stale marking compares.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runs.models import Dependency, Execution, Result, Run, Step
from runs.states import RUN_STATUS, UNFINISHED, State

FORWARDING_STATES = frozenset(
    {State.SUSPENDED, State.RECURRED, State.CACHED, State.DEFERRED, State.SPAWNED}
)
"""States whose outcome is another execution's."""


@dataclass(slots=True)
class Attempt:
    id: str
    step_id: str
    attempt: int
    state: str
    workspace: str
    created_at: datetime
    execute_after: datetime | None
    assigned_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    result_type: str | None
    successor: str | None
    dependencies: list[tuple[str, bool]] = field(default_factory=list)
    """``(execution ID, memo hit)`` of what this attempt waited for or read."""
    assets: list[tuple[str, str]] = field(default_factory=list)
    """``(asset ID, name)`` of the assets it made."""
    spawned: list[str] = field(default_factory=list)
    """IDs of the runs it spawned."""

    @property
    def finished(self) -> bool:
        return self.state not in UNFINISHED


@dataclass(slots=True)
class StepOutline:
    id: str
    number: int
    module: str
    target: str
    target_type: str
    parent: str | None
    group: int | None
    group_name: str
    created_at: datetime
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def latest(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


@dataclass
class Outline:
    run: Run
    steps: list[StepOutline]
    """In creation order (step numbers)."""
    executions: dict[str, Attempt]
    spawned_status: dict[str, str]
    """The status of each run spawned by one of this run's executions."""
    values: dict[str, Any]
    """The value results of the executions of steps that ran more than once."""
    step_by_id: dict[str, StepOutline] = field(init=False)

    def __post_init__(self) -> None:
        self.step_by_id = {step.id: step for step in self.steps}

    def step_of(self, execution_id: str) -> StepOutline | None:
        return self.step_by_id.get(execution_id.rsplit(":", 1)[0])

    @property
    def root(self) -> StepOutline | None:
        return self.steps[0] if self.steps and self.steps[0].number == 1 else None


def status_of(state: str | None) -> str:
    """A run's status from its root's latest attempt's state, as lists show it."""
    if state is None:
        return "queued"
    return RUN_STATUS.get(State(state), "running" if state in FORWARDING_STATES else state)


def load_outline(run: Run) -> Outline:
    """The run's outline, in six queries whatever the number of steps."""
    steps = [
        StepOutline(*row)
        for row in Step.objects.filter(run=run)
        .order_by("number")
        .values_list(
            "id",
            "number",
            "module",
            "target",
            "target_type",
            "parent_id",
            "group",
            "group_name",
            "created_at",
        )
    ]
    by_step = {step.id: step for step in steps}
    executions: dict[str, Attempt] = {}
    rows = (
        Execution.objects.filter(step__run=run)
        .order_by("step_id", "attempt")
        .values_list(
            "id",
            "step_id",
            "attempt",
            "state",
            "workspace__name",
            "created_at",
            "execute_after",
            "assigned_at",
            "started_at",
            "completed_at",
            "result__type",
            "result__successor_id",
        )
    )
    for row in rows:
        attempt = Attempt(*row)
        executions[attempt.id] = attempt
        step = by_step.get(attempt.step_id)
        if step is not None:
            step.attempts.append(attempt)
    for step in steps:
        step.attempts.sort(key=lambda a: a.attempt)
    dependencies = Dependency.objects.filter(execution__step__run=run).values_list(
        "execution_id", "dependency_id", "memo_hit"
    )
    for execution_id, dependency_id, memo_hit in dependencies:
        if execution_id in executions:
            executions[execution_id].dependencies.append((dependency_id, memo_hit))
    # Assets are a higher app: read through the reverse relation, without importing it.
    assets = (
        Execution.objects.filter(step__run=run, assets__isnull=False)
        .order_by("assets__created_at", "assets__id")
        .values_list("id", "assets__id", "assets__name")
    )
    for execution_id, asset_id, name in assets:
        executions[execution_id].assets.append((asset_id, name or ""))
    spawned_status: dict[str, str] = {}
    roots = (
        Execution.objects.filter(step__run__parent__step__run=run, step__number=1)
        .order_by("step__run_id", "attempt")
        .values_list("step__run_id", "step__run__parent_id", "state")
    )
    for run_id, parent_id, state in roots:
        if run_id not in spawned_status and parent_id in executions:
            executions[parent_id].spawned.append(run_id)
        spawned_status[run_id] = status_of(state)
    return Outline(run, steps, executions, spawned_status, _rerun_values(run, steps))


def _rerun_values(run: Run, steps: list[StepOutline]) -> dict[str, Any]:
    """The value results of the steps that ran more than once, for stale marking."""
    reran = [step.id for step in steps if len(step.attempts) > 1]
    values: dict[str, Any] = {}
    if not reran:
        return values
    for start in range(0, len(reran), 500):
        chunk = reran[start : start + 500]
        found = Result.objects.filter(
            execution__step_id__in=chunk, type=Result.Type.VALUE
        ).values_list("execution_id", "value")
        values.update(found)
    return values


def counts_by_state(attempts: list[Attempt | None]) -> dict[str, int]:
    """How many of ``attempts`` are in each state, most common first."""
    counts: dict[str, int] = defaultdict(int)
    for attempt in attempts:
        counts[attempt.state if attempt is not None else State.QUEUED] += 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
