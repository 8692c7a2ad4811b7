from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Prefetch
from django.utils import timezone

from runs.states import State

if TYPE_CHECKING:
    from projects.models import Project
    from workspaces.models import Workspace


class RunQuerySet(models.QuerySet["Run"]):
    def with_steps(self) -> RunQuerySet:
        """Everything a run snapshot shows, fetched in a fixed number of queries."""
        # A cached execution's result names the execution it reused: joined in, with that
        # one's own result and workspace, so the snapshot says where a hit came from.
        executions = (
            Execution.objects.select_related(
                "workspace", "result__successor__result", "result__successor__workspace"
            )
            .prefetch_related("dependencies")
            .order_by("attempt")
        )
        steps = Step.objects.order_by("number").prefetch_related(
            Prefetch("executions", queryset=executions)
        )
        return self.select_related("workspace").prefetch_related(Prefetch("steps", queryset=steps))

    def with_root(self) -> RunQuerySet:
        """Prefetch the root step and its executions into ``root_steps``."""
        executions = Execution.objects.select_related("result").order_by("attempt")
        steps = Step.objects.filter(number=1).prefetch_related(
            Prefetch("executions", queryset=executions)
        )
        return self.prefetch_related(Prefetch("steps", queryset=steps, to_attr="root_steps"))

    def recent(self, workspace: Workspace, limit: int = 50) -> RunQuerySet:
        """The workspace's latest runs, newest first."""
        return self.filter(workspace=workspace).order_by("-created_at", "-id")[:limit]


class Run(models.Model):
    """One submission of a workflow. Its identifier is ``R`` plus a short random string."""

    id = models.CharField(primary_key=True, max_length=32)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="runs")
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="runs"
    )
    parent = models.ForeignKey(
        "Execution", null=True, blank=True, on_delete=models.SET_NULL, related_name="spawned_runs"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(
        max_length=150,
        blank=True,
        help_text="Who submitted it: a Studio user's name; empty for the API and spawned runs.",
    )
    requires = models.JSONField(
        null=True,
        blank=True,
        help_text="Run-wide requires ({key: [values]}); when empty, the root step's apply.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = RunQuerySet.as_manager()

    class Meta:
        indexes = [
            # Studio and the API list a workspace's latest runs.
            models.Index(fields=["workspace", "-created_at"], name="run_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.id


class Step(models.Model):
    """A call of a target within a run: ``<run>:<n>``, n counting from 1 (1 is the root)."""

    id = models.CharField(primary_key=True, max_length=48)
    # Foreign keys covered by a composite index below get no index of their own: every
    # index is written on the hot path.
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps", db_index=False)
    number = models.PositiveIntegerField()
    module = models.CharField(max_length=255)
    target = models.CharField(max_length=255)
    target_type = models.CharField(max_length=16)
    parent = models.ForeignKey(
        "Execution",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        db_index=False,
    )
    parent_ref = models.CharField(
        max_length=64,
        blank=True,
        help_text="The submitting execution's own name for this call; makes re-sent submits "
        "idempotent.",
    )
    group = models.IntegerField(null=True, blank=True)
    group_name = models.CharField(max_length=255, blank=True)
    arguments = models.JSONField(default=list)
    options = models.JSONField(default=dict)
    memo_key = models.CharField(max_length=64, blank=True)
    cache_key = models.CharField(max_length=64, blank=True)
    defer_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="step_unique_number"),
        ]
        indexes = [
            # A re-sent submit is matched to the step it already created.
            models.Index(fields=["parent", "parent_ref"], name="step_parent_ref_idx"),
            # A memoised call looks for a step of its run with the same key.
            models.Index(
                fields=["run", "memo_key"],
                name="step_memo_idx",
                condition=~models.Q(memo_key=""),
            ),
            models.Index(
                fields=["cache_key"], name="step_cache_idx", condition=~models.Q(cache_key="")
            ),
        ]

    def __str__(self) -> str:
        return self.id


class ExecutionQuerySet(models.QuerySet["Execution"]):
    def latest_root(self, project: Project, run_id: str) -> Execution | None:
        """The latest attempt at the run's root step, with its result; None for no such run."""
        return (
            self.filter(step__run_id=run_id, step__run__project=project, step__number=1)
            .select_related("result")
            .order_by("-attempt")
            .first()
        )

    def idempotent_root(self, workspace: Workspace, key: str, since: datetime) -> Execution | None:
        """The latest root execution of the workspace's run with that key since ``since``."""
        return (
            self.filter(
                step__run__workspace=workspace,
                step__run__idempotency_key=key,
                step__run__created_at__gte=since,
                step__number=1,
            )
            .select_related("step")
            .order_by("-step__run__created_at", "-attempt")
            .first()
        )


class Execution(models.Model):
    """One attempt at a step: ``<run>:<step>:<attempt>``."""

    id = models.CharField(primary_key=True, max_length=64)
    step = models.ForeignKey(
        Step, on_delete=models.CASCADE, related_name="executions", db_index=False
    )
    attempt = models.PositiveIntegerField(default=1)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="executions"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    session = models.ForeignKey(
        "projects.WorkerSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="executions",
    )
    created_at = models.DateTimeField(default=timezone.now)
    execute_after = models.DateTimeField(null=True, blank=True)
    failures_before = models.PositiveIntegerField(
        default=0,
        help_text="Consecutive failed attempts of the step just before this one (for retries).",
    )
    wait_for = models.JSONField(
        default=list,
        blank=True,
        help_text="Executions this one waits for before it may start (a suspension's).",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ExecutionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "attempt"], name="execution_unique_attempt"),
        ]
        indexes = [
            # The orchestrator loads unfinished executions (queued and assigned) on start.
            models.Index(
                fields=["state", "created_at"],
                name="execution_unfinished_idx",
                condition=models.Q(state__in=["queued", "assigned"]),
            ),
        ]

    def __str__(self) -> str:
        return self.id


class Result(models.Model):
    """How an execution ended.

    Final: a value, an error, or cancelled/abandoned/timed out. Forwarding: the outcome is
    another execution's (``successor``): the next attempt after a suspension or a recurrence,
    the surviving call of deferred ones, the spawned run's root, the cached execution. An error,
    abandonment or timeout that is retried forwards to the retry as well.
    """

    class Type(models.TextChoices):
        VALUE = "value"
        ERROR = "error"
        ABANDONED = "abandoned"
        CANCELLED = "cancelled"
        TIMEOUT = "timeout"
        SUSPENDED = "suspended"
        RECURRED = "recurred"
        DEFERRED = "deferred"
        CACHED = "cached"
        SPAWNED = "spawned"

    execution = models.OneToOneField(
        Execution, on_delete=models.CASCADE, primary_key=True, related_name="result"
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    successor = models.ForeignKey(
        Execution,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="forwarded_from",
        help_text="The execution whose outcome this one's waiters get instead.",
    )
    value = models.JSONField(null=True, blank=True, help_text="The value in the wire format.")
    error_type = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    error_frames = models.JSONField(default=list, blank=True)
    retryable = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.execution_id}: {self.type}"

    def as_message(self) -> dict:
        """The result as the protocol and the API carry it (with ``successor`` if it has one)."""
        if self.type == self.Type.VALUE:
            message: dict = {"type": "value", "value": self.value}
        elif self.type == self.Type.ERROR:
            message = {
                "type": "error",
                "error": {
                    "type": self.error_type,
                    "message": self.error_message,
                    "frames": self.error_frames,
                    "retryable": self.retryable,
                },
            }
        else:
            message = {"type": self.type}
        if self.successor_id is not None:
            message["successor"] = self.successor_id
        return message


class Dependency(models.Model):
    """``execution`` waited for (or read) the result of ``dependency``."""

    execution = models.ForeignKey(
        Execution, on_delete=models.CASCADE, related_name="dependencies", db_index=False
    )
    dependency = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="dependents")
    memo_hit = models.BooleanField(
        default=False, help_text="A memoised call of ``execution`` reused ``dependency``."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "dependency"], name="dependency_unique_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.execution_id} → {self.dependency_id}"


class LogMessage(models.Model):
    """A line of an execution's log: captured output or a ``cf.log_*`` call."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="logs")
    timestamp = models.DateTimeField()
    level = models.PositiveSmallIntegerField()
    template = models.TextField()
    values = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["execution", "timestamp"], name="log_execution_idx")]

    def __str__(self) -> str:
        return f"{self.execution_id} [{self.level}] {self.template[:60]}"


class MetricDefinition(models.Model):
    """How an execution describes one of its metric series (``cf.Metric``)."""

    execution = models.ForeignKey(
        Execution, on_delete=models.CASCADE, related_name="metric_definitions"
    )
    key = models.CharField(max_length=200)
    group = models.JSONField(
        null=True, blank=True, help_text="The chart: {name, units, lower, upper}."
    )
    scale = models.JSONField(
        null=True, blank=True, help_text="The y-axis: {name, units, progress, lower, upper}."
    )
    throttle = models.FloatField(null=True, blank=True, help_text="Points per second at most.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["execution", "key"], name="metric_definition_unique")
        ]

    def __str__(self) -> str:
        return f"{self.execution_id} {self.key}"


class MetricPoint(models.Model):
    """A point ``(value, at)`` of an execution's metric series, in the order it arrived."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="metric_points")
    key = models.CharField(max_length=200)
    value = models.FloatField()
    at = models.FloatField(help_text="The x-axis: seconds since the execution started, or given.")

    class Meta:
        # A run's points are read per execution, in arrival order (from a cursor).
        indexes = [models.Index(fields=["execution", "id"], name="metric_point_execution_idx")]

    def __str__(self) -> str:
        return f"{self.execution_id} {self.key}@{self.at}={self.value}"


class Input(models.Model):
    """A question a running execution asks a person (``cf.Prompt``): ``<run>/i<n>``.

    Its content is fixed when it is made; it is answered at most once, with a value (JSON, which
    may be ``null``) that matches its ``schema`` if it has one, or dismissed, or cancelled.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        RESPONDED = "responded"
        DISMISSED = "dismissed"
        CANCELLED = "cancelled"

    id = models.CharField(primary_key=True, max_length=48)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="inputs", db_index=False)
    number = models.PositiveIntegerField()
    execution = models.ForeignKey(
        Execution,
        on_delete=models.CASCADE,
        related_name="inputs",
        help_text="The execution that asked.",
    )
    execution_ref = models.CharField(
        max_length=64, blank=True, help_text="The asking call's ref: makes re-sent asks idempotent."
    )
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="inputs"
    )
    key = models.CharField(max_length=200, blank=True)
    template = models.TextField()
    placeholders = models.JSONField(
        default=dict, blank=True, help_text="Placeholder name → value in the wire format."
    )
    schema = models.JSONField(null=True, blank=True, help_text="The JSON schema of a response.")
    title = models.CharField(max_length=255, blank=True)
    actions = models.JSONField(
        null=True, blank=True, help_text="Labels of the buttons: {respond, dismiss}."
    )
    initial = models.JSONField(null=True, blank=True, help_text="What the form starts with.")
    requires = models.JSONField(
        default=dict, blank=True, help_text="Who may answer: {tag: [values]}."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    response = models.JSONField(null=True, blank=True, help_text="The value responded (JSON).")
    responded_by = models.CharField(max_length=150, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="input_unique_number"),
        ]
        indexes = [
            # A keyed ask finds the run's input with that key.
            models.Index(fields=["run", "key"], name="input_key_idx"),
            # Studio and the API list a workspace's pending inputs.
            models.Index(
                fields=["workspace", "created_at"],
                name="input_pending_idx",
                condition=models.Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return self.id


class InputDependency(models.Model):
    """``execution`` waited for (or read) the answer to ``input``."""

    execution = models.ForeignKey(
        Execution, on_delete=models.CASCADE, related_name="input_dependencies", db_index=False
    )
    input = models.ForeignKey(Input, on_delete=models.CASCADE, related_name="dependents")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "input"], name="input_dependency_unique_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.execution_id} → {self.input_id}"
