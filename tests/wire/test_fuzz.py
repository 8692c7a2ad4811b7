"""A fuzz of the worker protocol at the boundary.

Random and mutated messages (valid ones with leaves replaced by hostile JSON, keys dropped or
added) either pass ``protocol.validate`` or raise ``ProtocolError``, never anything else, as
frames too. What passes is stored the way the orchestrator stores it, in the real database
(SQLite, or PostgreSQL with ``DATABASE_URL``): a message that validates never fails a write.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coflux_wire import protocol
from projects.models import WorkerSession
from runs import keys
from runs.models import Execution, LogMessage, MetricDefinition, MetricPoint, Result, Step
from runs.submission import submit_run
from runs.values import from_plain_json
from tests.fuzzing import examples
from tests.json_paths import at, places
from tests.sample_targets import GREET
from tests.wire.messages import RESULTS, VALID
from workspaces.manifests import parse_manifests, register_manifests
from workspaces.models import Workspace

HOSTILE_TEXT = st.sampled_from(
    ["", "\x00", "a\x00b", "\ud800", "x\udfff", "R1:1:1\x00", "é☕\U0001f600", "\u202e", "'; --"]
)
TEXT = st.text(max_size=20) | HOSTILE_TEXT | st.text(st.characters(codec="utf-8"), max_size=300)
INTEGERS = (
    st.integers(min_value=-10, max_value=100)
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**12])
    | st.integers(min_value=0, max_value=260_000_000_000_000)
)
FLOATS = st.floats() | st.sampled_from([1e30, -0.0, 5e-324, 1.7e308, 1.7e12])
LEAVES = st.none() | st.booleans() | INTEGERS | FLOATS | TEXT


def nested(levels: int) -> Any:
    data: Any = "deep"
    for _ in range(levels):
        data = [data]
    return data


JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
) | st.integers(min_value=90, max_value=1000).map(nested)
SAME_KIND = {str: TEXT, int: INTEGERS, float: FLOATS, bool: st.booleans()}

SEEDS = [*VALID.values(), *({**VALID["result"], "result": result} for result in RESULTS)]


ACTIONS = ("same kind", "any", "drop", "add")


@st.composite
def mutated(draw: st.DrawFn, actions: tuple[str, ...] = ACTIONS) -> Any:
    """A valid message with one to three changes: a leaf replaced by one of the same kind or
    by any JSON, a key dropped, a key or an item added."""
    message = json.loads(json.dumps(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        spots = places(message)
        if not spots:
            break
        path = draw(st.sampled_from(spots))
        parent, last = at(message, path[:-1]), path[-1]
        action = draw(st.sampled_from(actions))
        old = parent[last]
        if action == "same kind" and type(old) in SAME_KIND:
            parent[last] = draw(SAME_KIND[type(old)])
        elif action == "drop" and isinstance(parent, dict):
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(JSON)
        elif action == "add" and isinstance(parent, list):
            parent.append(draw(JSON))
        else:
            parent[last] = draw(JSON)
    return message


MESSAGES = (
    mutated()
    | st.builds(
        lambda kind, fields: {"type": kind, **fields},
        st.sampled_from(sorted(protocol.WORKER_MESSAGES)),
        st.dictionaries(TEXT, JSON, max_size=6),
    )
    | JSON
)


def outcome(message: Any) -> dict[str, Any] | None:
    try:
        return protocol.validate(message, protocol.WORKER_MESSAGES)
    except protocol.ProtocolError:
        return None


@settings(max_examples=examples(600), deadline=None)
@given(MESSAGES)
def test_a_message_validates_or_raises_a_protocol_error(message):
    outcome(message)


@settings(max_examples=examples(250), deadline=None)
@given(st.lists(MESSAGES, min_size=1, max_size=3))
def test_a_frame_is_read_or_refused_with_a_protocol_error(messages):
    text = json.dumps(messages if len(messages) > 1 else messages[0])
    try:
        items = protocol.messages_of(text)
    except protocol.ProtocolError:
        return
    for item in items:
        accepted = outcome(item)
        if accepted is not None:
            assert protocol.messages_of(protocol.encode(accepted)) == [accepted]


@settings(max_examples=examples(300), deadline=None)
@given(st.text() | st.binary() | st.builds(lambda n: "[" * n + "]" * n, st.integers(0, 10**5)))
def test_raw_frames_are_read_or_refused_with_a_protocol_error(text):
    try:
        items = protocol.messages_of(text)
    except protocol.ProtocolError:
        return
    for item in items:
        outcome(item)


# --- what passes can be stored -----------------------------------------------------------------


@pytest.fixture
def execution(workspace: Workspace) -> Execution:
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [GREET]}}))
    return submit_run(workspace, "app.flows", "greet", [from_plain_json("you")])


def store(message: dict[str, Any], execution: Execution) -> None:
    """Write what the orchestrator writes of ``message``, with the same column types."""
    now = timezone.now()
    kind = message["type"]
    if kind == "hello":
        project, name = execution.workspace.project, message["workspace"]
        workspace = Workspace.objects.filter(project=project, name__iexact=name).first()
        if workspace is None:
            workspace = Workspace.objects.create(project=project, name=name.lower())
        WorkerSession.objects.create(
            project=execution.workspace.project,
            workspace=workspace,
            targets=message["targets"],
            concurrency=message["concurrency"],
            provides=message["provides"],
            accepts=message["accepts"],
        )
        Execution.objects.filter(id=message["session"] or "").count()
        return
    if kind == "submit":
        store_call(message, execution, now)
    elif kind == "result":
        store_result(message["result"], execution, now)
    elif kind == "log":
        LogMessage.objects.bulk_create(
            LogMessage(
                execution=execution,
                timestamp=datetime.fromtimestamp(timestamp / 1000, tz=UTC),
                level=level,
                template=template,
                values=values,
            )
            for timestamp, level, template, values in message["entries"]
        )
    elif kind == "metric":
        definitions = {d["key"]: d for d in message["definitions"]}
        MetricDefinition.objects.bulk_create(
            MetricDefinition(
                execution=execution,
                key=key,
                group=d.get("group"),
                scale=d.get("scale"),
                throttle=d.get("throttle"),
            )
            for key, d in definitions.items()
        )
        MetricPoint.objects.bulk_create(
            MetricPoint(execution=execution, key=key, value=value, at=point_at)
            for key, value, point_at in message["points"]
        )
    ids = message.get("targets") or message.get("executions") or [message.get("execution", "")]
    Execution.objects.filter(id__in=ids).count()


def store_call(message: dict[str, Any], parent: Execution, now: datetime) -> None:
    options, arguments = message["options"], message["arguments"]
    module, target = message["module"], message["target"]
    number = Step.objects.filter(run=parent.step.run).count() + 1
    step = Step.objects.create(
        id=f"{parent.step.run_id}:{number}",
        run=parent.step.run,
        number=number,
        module=module,
        target=target,
        target_type=message["target_type"],
        parent=parent,
        parent_ref=message["ref"],
        group=message["group"],
        group_name=message.get("group_name") or "",
        arguments=arguments,
        options=options,
        memo_key=keys.memo_key(module, target, arguments, options.get("memo")),
        cache_key=keys.cache_key(module, target, arguments, options.get("cache")),
        defer_key=keys.defer_key(module, target, arguments, options.get("defer")),
    )
    delay = timedelta(milliseconds=options.get("delay_ms") or 0)
    retries = options.get("retries") or {}
    backoff = timedelta(milliseconds=retries.get("backoff_max_ms") or 0)
    Execution.objects.create(
        id=f"{step.id}:1",
        step=step,
        workspace=parent.workspace,
        execute_after=now + delay + backoff,
    )
    max_age = (options.get("cache") or {}).get("max_age_ms")
    if max_age is not None:
        Result.objects.filter(created_at__gte=now - timedelta(milliseconds=max_age)).count()


def store_result(result: dict[str, Any], execution: Execution, now: datetime) -> None:
    error = result.get("error") or {}
    Result.objects.create(
        execution=execution,
        type=result["type"],
        value=result.get("value"),
        error_type=error.get("type", ""),
        error_message=error.get("message", ""),
        error_frames=error.get("frames", []),
        retryable=error.get("retryable"),
    )
    if result["type"] == "suspended" and result.get("after") is not None:
        due = datetime.fromtimestamp(result["after"] / 1000, tz=UTC)
        Execution.objects.filter(id=execution.id).update(execute_after=due)


@pytest.mark.django_db
@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutated(actions=("same kind",)) | mutated())
def test_a_message_that_validates_can_be_stored(execution, message):
    accepted = outcome(message)
    if accepted is None:
        return
    with transaction.atomic():
        store(accepted, execution)
        transaction.set_rollback(True)
