"""The shapes of the runs API (``runs.api``), declared once: what the views accept and return,
and what the OpenAPI schema says they do.

Keys are camelCase. An object's own identifier is ``id``; a reference to another object is
``<kind>Id`` (``runId``, ``stepId``, ``executionId``, ``sessionId``). The response serializers
read the plain dicts of the domain modules (``runs.snapshots``, ``runs.logs``, …), naming
their keys with ``source``. Values are in the wire's value format (``coflux_wire.values``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.validators import RegexValidator
from rest_framework import serializers

from coflux_server.api_fields import (
    Boolean,
    Integer,
    Number,
    QueryInteger,
    QuerySerializer,
    StrictSerializer,
    Text,
    tags,
)
from runs.run_list import RUN_STATUSES
from runs.states import State

MAX_DELAY_SECONDS = 366 * 24 * 3600
MAX_RETRIES = 10_000
MAX_WAIT_SECONDS = 60
MAX_EPOCH_MS = 253_402_300_799_999
"""The last millisecond of year 9999, the latest moment Python's datetime holds."""

# --- submitting -------------------------------------------------------------------------------


class SubmitSerializer(StrictSerializer):
    """A run of a registered workflow; the optional fields replace its registered options for
    this run."""

    module = Text(min_length=1, max_length=255)
    target = Text(min_length=1, max_length=255)
    arguments = serializers.ListField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        default=list,
        help_text="The workflow's arguments, in order, as plain JSON.",
    )
    idempotencyKey = Text(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Submitting again with this key within 24 hours returns the same run.",
    )
    delay = Number(
        required=False,
        min_value=0,
        max_value=MAX_DELAY_SECONDS,
        help_text="Seconds before the run starts.",
    )
    retries = Integer(
        required=False,
        min_value=0,
        max_value=MAX_RETRIES,
        help_text="Retries of the root step, each straight after a failure (0: none).",
    )
    requires = tags(
        required=False, allow_null=True, help_text="Tags the run's workers must have; null: none."
    )
    memo = Boolean(required=False, help_text="Memoise the run's steps by default.")


class SubmittedSerializer(serializers.Serializer):
    runId = serializers.CharField(source="run_id")
    stepId = serializers.CharField(source="step_id")
    executionId = serializers.CharField(source="execution_id")


# --- listing ----------------------------------------------------------------------------------


class RunListQuerySerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=RUN_STATUSES, required=False)
    workflow = Text(
        required=False,
        max_length=511,
        validators=[RegexValidator(r"^.+/[^/]+$", "Expected MODULE/TARGET.")],
        help_text="Only runs of MODULE/TARGET.",
    )
    since = serializers.DateTimeField(
        required=False, help_text="Only runs created at or after this time (ISO 8601)."
    )
    limit = QueryInteger(required=False, min_value=1, max_value=500, default=50)

    def validate_since(self, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class RunSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    module = serializers.CharField(allow_null=True)
    target = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=RUN_STATUSES)
    createdAt = serializers.DateTimeField(source="created_at")


class RunListSerializer(serializers.Serializer):
    runs = RunSummarySerializer(many=True, help_text="Newest first.")


# --- results ----------------------------------------------------------------------------------


class FrameSerializer(serializers.Serializer):
    file = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    code = serializers.CharField(allow_null=True, required=False)


class ErrorResultSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="The exception's qualified type.")
    message = serializers.CharField(allow_blank=True)
    frames = FrameSerializer(many=True)
    retryable = serializers.BooleanField(allow_null=True)


class ResultSerializer(serializers.Serializer):
    """An execution's result: ``value`` (with ``value``), ``error`` (with ``error``), or a kind
    without content (``cancelled``, ``timeout``, ``abandoned``, ``suspended``, ``recurred``,
    ``cached``, ``deferred``, ``spawned``)."""

    type = serializers.ChoiceField(
        choices=[
            "value",
            "error",
            "abandoned",
            "cancelled",
            "timeout",
            "suspended",
            "recurred",
            "deferred",
            "cached",
            "spawned",
        ]
    )
    value = serializers.JSONField(required=False, help_text="In the wire's value format.")
    error = ErrorResultSerializer(required=False)
    successorId = serializers.CharField(
        source="successor",
        required=False,
        help_text="The execution this result forwards to (a retry, the next attempt, the "
        "cache's or a deferred call's source, a spawned run's root).",
    )


class OutcomeSerializer(serializers.Serializer):
    runId = serializers.CharField(source="run_id")
    status = serializers.ChoiceField(choices=RUN_STATUSES)
    result = ResultSerializer(
        allow_null=True, help_text="The final result, forwards followed; null while unfinished."
    )


class WaitQuerySerializer(QuerySerializer):
    wait = serializers.FloatField(
        required=False,
        min_value=0,
        default=0,
        help_text=f"Seconds to hold the request while the run is unfinished (at most "
        f"{MAX_WAIT_SECONDS}).",
    )

    def validate_wait(self, value: float) -> float:
        return min(value, MAX_WAIT_SECONDS)


# --- snapshots --------------------------------------------------------------------------------


class CachedFromSerializer(serializers.Serializer):
    executionId = serializers.CharField(source="execution")
    runId = serializers.CharField(source="run")
    workspace = serializers.CharField()


class ExecutionSerializer(serializers.Serializer):
    id = serializers.CharField()
    attempt = serializers.IntegerField()
    state = serializers.ChoiceField(choices=State.values)
    workspace = serializers.CharField()
    sessionId = serializers.CharField(source="session", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    assignedAt = serializers.DateTimeField(source="assigned_at", allow_null=True)
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    result = ResultSerializer(allow_null=True, help_text="Its own result (forwards not followed).")
    cachedFrom = CachedFromSerializer(source="cached_from", allow_null=True)
    memoHits = serializers.ListField(
        source="memo_hits",
        child=serializers.CharField(),
        help_text="The executions whose memoised calls reused this one's result.",
    )
    dependencies = serializers.ListField(
        child=serializers.CharField(), help_text="The executions it waited for."
    )


class StepSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.IntegerField()
    module = serializers.CharField()
    target = serializers.CharField()
    type = serializers.ChoiceField(choices=["workflow", "task"])
    parentId = serializers.CharField(
        source="parent", allow_null=True, help_text="The execution that called it."
    )
    group = serializers.IntegerField(allow_null=True)
    groupName = serializers.CharField(source="group_name", allow_null=True)
    arguments = serializers.ListField(
        child=serializers.JSONField(), help_text="In the wire's value format."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    cacheKey = serializers.CharField(source="cache_key", allow_null=True)
    memoKey = serializers.CharField(source="memo_key", allow_null=True)
    resolution = serializers.ChoiceField(
        choices=["executed", "cached", "memoised"], allow_null=True
    )
    cachedFrom = CachedFromSerializer(source="cached_from", allow_null=True)
    memoHits = serializers.ListField(source="memo_hits", child=serializers.CharField())
    executions = ExecutionSerializer(many=True, help_text="By attempt.")


class RunSerializer(serializers.Serializer):
    id = serializers.CharField()
    workspace = serializers.CharField()
    parentId = serializers.CharField(
        source="parent", allow_null=True, help_text="The execution that spawned it."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    createdBy = serializers.CharField(
        source="created_by",
        help_text="Who submitted it (e.g. 'user alice', 'token T1a2b (ci)'); empty for a run "
        "another run spawned.",
    )
    status = serializers.ChoiceField(choices=RUN_STATUSES)
    result = ResultSerializer(
        allow_null=True,
        help_text="The final result of the root step's latest attempt, wherever it ran.",
    )
    steps = StepSerializer(many=True)


# --- logs and metrics -------------------------------------------------------------------------


class LogQuerySerializer(WaitQuerySerializer):
    execution = Text(required=False, help_text="Only this execution's lines.")
    after = QueryInteger(required=False, help_text="A cursor returned by an earlier request.")
    # ``from`` is a keyword: the field is named apart and renamed below.
    from_ = QueryInteger(
        required=False, max_value=MAX_EPOCH_MS, help_text="Only lines at or after (epoch ms)."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class LogLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    executionId = serializers.CharField(source="execution")
    timestamp = serializers.IntegerField(help_text="Epoch milliseconds.")
    level = serializers.IntegerField(
        help_text="0 debug, 1 stdout, 2 info, 3 stderr, 4 warning, 5 error."
    )
    template = serializers.CharField(allow_null=True, allow_blank=True)
    values = serializers.DictField(help_text="Name → value in the wire's value format.")


class LogPageSerializer(serializers.Serializer):
    logs = LogLineSerializer(many=True, help_text="Up to 1000 lines, in arrival order.")
    cursor = serializers.IntegerField(
        allow_null=True, help_text="Pass back as `after` for the next page."
    )
    done = serializers.BooleanField(
        help_text="The run had finished and this page holds all that remains."
    )


class MetricQuerySerializer(QuerySerializer):
    execution = Text(required=False, help_text="Only this execution's metrics.")
    after = QueryInteger(required=False, help_text="A cursor returned by an earlier request.")


class MetricDefinitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    group = serializers.DictField(allow_null=True, help_text="{name, units, lower, upper}")
    scale = serializers.DictField(
        allow_null=True, help_text="{name, units, progress, lower, upper}"
    )
    throttle = serializers.FloatField(allow_null=True)


class ExecutionMetricsSerializer(serializers.Serializer):
    executionId = serializers.CharField(source="execution_id")
    definitions = MetricDefinitionSerializer(many=True)
    points = serializers.DictField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.FloatField())),
        help_text="Key → [[at, value], …] in arrival order.",
    )


class MetricPageSerializer(serializers.Serializer):
    executions = ExecutionMetricsSerializer(many=True)
    cursor = serializers.IntegerField(allow_null=True)


# --- cancel and re-run ------------------------------------------------------------------------


class CancelledSerializer(serializers.Serializer):
    cancelled = serializers.ListField(
        child=serializers.CharField(),
        help_text="The executions cancelled: none if it had already finished.",
    )


class RerunSerializer(StrictSerializer):
    workspace = Text(
        required=False,
        allow_null=True,
        help_text="Where the new attempt runs: the step's own workspace or a descendant of it; "
        "by default the workspace of the step's latest execution.",
    )


class RerunStartedSerializer(serializers.Serializer):
    runId = serializers.CharField(source="run_id")
    stepId = serializers.CharField(source="step_id")
    executionId = serializers.CharField(source="execution_id")
    attempt = serializers.IntegerField()


# --- a workspace's sessions and queue ---------------------------------------------------------


class SessionSerializer(serializers.Serializer):
    id = serializers.CharField()
    state = serializers.ChoiceField(choices=["connected", "draining", "disconnected"])
    load = serializers.IntegerField(help_text="Executions it runs now.")
    concurrency = serializers.IntegerField(help_text="0: unlimited.")
    provides = tags()
    accepts = tags()
    targets = serializers.IntegerField(help_text="How many targets it declared.")
    createdAt = serializers.DateTimeField(source="created_at")
    lastSeenAt = serializers.DateTimeField(source="last_seen_at")


class SessionListSerializer(serializers.Serializer):
    sessions = SessionSerializer(many=True)


class QueuedSerializer(serializers.Serializer):
    id = serializers.CharField(source="execution_id")
    module = serializers.CharField()
    target = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["assigned", "paused", "scheduled", "waiting", "no session"]
    )
    sessionId = serializers.CharField(source="session", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    executeAfter = serializers.DateTimeField(source="execute_after", allow_null=True)


class QueueSerializer(serializers.Serializer):
    executions = QueuedSerializer(many=True, help_text="Oldest first, at most 500.")
