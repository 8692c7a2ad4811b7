"""What an orchestrator knows between ticks; rebuilt from the database when it starts.

Every unfinished execution (queued or assigned) is in memory, so questions such as "which
executions descend from this one" or "is this dependency still pending" never need the
database; finished ones are looked up there, and a bounded number of their results and
forwards are kept (``RECENT``).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runs.orchestration.fleet import Fleet

TargetKey = tuple[str, str, str]
"""(module, target, type) of a target a worker hosts."""

Waiter = tuple[str, str]
"""(waiting execution, the ID it waits on); filed under the end of that ID's forward chain."""

Chain = tuple[str, Any]
"""Where a forward chain ends: ("pending", execution ID), ("done", result) or ("unknown", None)."""

RECENT = 10_000
"""How many finished executions' results and forwards (and runs) are kept in memory."""
MAX_FORWARDS = 100
"""Longest forward chain followed (a guard against a cycle in corrupt data)."""


@dataclass
class SessionState:
    id: str
    workspace_id: int
    targets: set[TargetKey]
    concurrency: int
    provides: dict[str, list[str]]
    channel: str | None
    accepts: dict[str, list[str]] = field(default_factory=dict)
    secret_hash: str = ""
    """What resuming the session takes (see ``projects.session_tokens``)."""
    max_processes: int | None = None
    """At most this many executions assigned, blocked or not (0: no cap; None: the concurrency)."""
    draining: bool = False
    executions: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    """Assigned executions blocked waiting for results: they do not count against concurrency."""
    disconnected_at: datetime | None = None
    heartbeat_at: datetime | None = None
    """When its previous heartbeat arrived; executions assigned before then must be listed."""

    def takes_work(self) -> bool:
        """Whether it may be given anything at all now (connected, not draining, below its
        process cap)."""
        if self.channel is None or self.draining:
            return False
        cap = self.concurrency if self.max_processes is None else self.max_processes
        return not cap or len(self.executions) < cap

    def admits(self, for_blocked: bool) -> bool:
        """Whether it may be given one more execution; ``for_blocked``: one that an execution
        blocked on results (here or elsewhere) waits for.

        Up to ``concurrency`` executions are admitted whatever they are. Beyond that, room left
        by blocked executions goes only to the work they wait for, so that new runs cannot
        fill a worker with blocked roots while their children find no slot (a chain of depth
        d needs at most d × concurrency processes).
        """
        if not self.takes_work():
            return False
        if self.concurrency == 0 or len(self.executions) < self.concurrency:
            return True
        running = len(self.executions) - len(self.blocked & self.executions)
        return for_blocked and running < self.concurrency


@dataclass
class WorkspaceState:
    name: str
    state: str
    base_id: int | None


@dataclass
class RunInfo:
    workspace_id: int
    requires: dict[str, list[str]]
    memo: bool
    owner_id: str | None
    """For a spawned run, the execution that called the workflow (cancelling it cancels the run)."""


@dataclass(eq=False)
class ExecutionSpec:
    """An unfinished execution: queued (``session_id`` None) or assigned to a session."""

    id: str
    step_id: str
    run_id: str
    attempt: int
    workspace_id: int
    module: str
    target: str
    target_type: str
    arguments: list[dict[str, Any]]
    options: dict[str, Any]
    created_at: datetime
    execute_after: datetime | None
    parent_id: str | None
    """The execution that made this call; ``None`` for a run's root."""
    owner_id: str | None
    """The execution whose cancellation cancels this one: the parent, or a spawned run's caller."""
    requires: dict[str, list[str]]
    defer_key: str = ""
    cache_key: str = ""
    cache_checked: bool = False
    """Looked up in the cache once, when first due (SPEC §3.3); later, it just runs."""
    failures_before: int = 0
    blocked_on: set[str] = field(default_factory=set)
    """Executions that must have results before this one may start."""
    wait_any: bool = False
    """A resumed suspension starts once any of ``blocked_on`` has a result, not all."""
    session_id: str | None = None
    assigned_at: datetime | None = None

    @property
    def target_key(self) -> TargetKey:
        return (self.module, self.target, self.target_type)

    @property
    def is_root(self) -> bool:
        return self.step_id.endswith(":1") and self.step_id.count(":") == 1

    @property
    def needs_no_session(self) -> bool:
        """Whether dispatch can act on it while queued without a session: a first attempt not
        yet looked up in the cache, or a call of a workflow (which spawns a run)."""
        unchecked = bool(self.cache_key) and self.attempt == 1 and not self.cache_checked
        return unchecked or (self.target_type == "workflow" and not self.is_root)

    @property
    def timeout_ms(self) -> int:
        value = self.options.get("timeout_ms")
        return value if isinstance(value, int) and value > 0 else 0


@dataclass
class Memory:
    """Everything one project's orchestrator holds between ticks."""

    project_id: int
    sessions: dict[str, SessionState] = field(default_factory=dict)
    pending: dict[str, ExecutionSpec] = field(default_factory=dict)
    """Queued executions, in the order they were queued (dispatch takes the oldest first)."""
    running: dict[str, ExecutionSpec] = field(default_factory=dict)
    """Executions assigned to a session."""
    waiters: defaultdict[str, set[Waiter]] = field(default_factory=lambda: defaultdict(set))
    """Who waits on each unfinished execution (filed under the end of forward chains)."""
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Final results of recently finished executions."""
    forwards: dict[str, str] = field(default_factory=dict)
    """Recent forwards: execution → the execution whose outcome stands for its own."""
    runs: dict[str, RunInfo] = field(default_factory=dict)
    step_counts: dict[str, int] = field(default_factory=dict)
    """The highest step number of each run in use (new steps count on from it)."""
    submitted: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(parent execution, call ref) → (step, execution): a re-sent submit finds its step."""
    known_parents: set[str] = field(default_factory=set)
    """Executions whose earlier calls are all in ``submitted``."""
    memos: dict[tuple[str, str], str] = field(default_factory=dict)
    """(run, memo key) → the execution a memoised call reuses."""
    workspaces: dict[int, WorkspaceState] = field(default_factory=dict)
    pending_inputs: set[str] = field(default_factory=set)
    """Inputs known to be unanswered (answered ones' results go to ``results``); others are
    looked up in the database when named (see ``inputs``)."""
    due_times: list[tuple[datetime, str]] = field(default_factory=list)
    """A heap of (execute_after, execution) for queued executions put off until later; entries
    of executions since started, finished or moved are dropped as they are met."""
    scanned_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    """When executions queued outside the orchestrator were last looked for."""
    root_attempts: dict[str, int] = field(default_factory=dict)
    """The latest attempt made at each recent run's root step (a finished run's outcome is its
    latest root attempt's); unknown for runs from before a restart."""
    sessionless: set[str] = field(default_factory=set)
    """Queued executions dispatch may act on without a session (see
    ``ExecutionSpec.needs_no_session``); may hold some that no longer are, dropped as met."""
    defer_changed: bool = False
    """A deferred execution was queued since deferred ones were last collapsed."""
    fleet: Fleet = field(default_factory=Fleet)
    """Pools and the workers they launched (see ``pools``)."""

    def unfinished(self, execution_id: str) -> ExecutionSpec | None:
        return self.pending.get(execution_id) or self.running.get(execution_id)

    def queue(self, spec: ExecutionSpec) -> None:
        self.pending[spec.id] = spec
        if spec.defer_key:
            self.defer_changed = True
        if spec.execute_after is not None:
            heapq.heappush(self.due_times, (spec.execute_after, spec.id))
        if spec.needs_no_session:
            self.sessionless.add(spec.id)

    def next_due(self, now: datetime) -> datetime | None:
        """When the next queued execution put off until later falls due."""
        while self.due_times:
            due, execution_id = self.due_times[0]
            spec = self.pending.get(execution_id)
            if spec is not None and spec.execute_after == due and due > now:
                return due
            heapq.heappop(self.due_times)
        return None

    def add_running(self, spec: ExecutionSpec) -> None:
        self.running[spec.id] = spec
        session = self.sessions.get(spec.session_id or "")
        if session is not None:
            session.executions.add(spec.id)

    def session_of(self, execution_id: str) -> SessionState | None:
        """The session an assigned execution runs on, if it is still known."""
        spec = self.running.get(execution_id)
        return self.sessions.get(spec.session_id or "") if spec is not None else None

    def ancestry(self, workspace_id: int) -> list[int]:
        """The workspace and its bases, nearest first."""
        chain: list[int] = []
        current: int | None = workspace_id
        while current is not None and current not in chain:
            chain.append(current)
            info = self.workspaces.get(current)
            current = info.base_id if info else None
        return chain

    def workspace_named(self, name: Any) -> int | None:
        """The live (not archived) workspace with this name, case-insensitively."""
        if not isinstance(name, str):
            return None
        for workspace_id, workspace in self.workspaces.items():
            if workspace.name.lower() == name.lower() and workspace.state != "archived":
                return workspace_id
        return None

    def chain_end(self, execution_id: str) -> str | None:
        """The unfinished execution an ID's forwards lead to, as far as memory knows."""
        for _ in range(MAX_FORWARDS):
            if execution_id in self.pending or execution_id in self.running:
                return execution_id
            if execution_id not in self.forwards:
                return None
            execution_id = self.forwards[execution_id]
        return None


def remember(store: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``key → value`` in a bounded store, forgetting the oldest entry when full."""
    if len(store) >= RECENT:
        store.pop(next(iter(store)))
    store[key] = value
