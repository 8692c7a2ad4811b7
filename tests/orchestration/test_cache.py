"""Cache hits at dispatch: reuse, linking, max age, workspace ancestry (SPEC §3.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runs.models import Execution, Result
from runs.states import State
from tests.orchestration.support import (
    CHANNEL,
    error,
    hello,
    messages,
    queue_run,
    result,
    submit,
    value,
)
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

CACHE = {"cache": {"params": [0], "max_age_ms": None, "namespace": None, "version": None}}


def started_root(harness, run_id="Rtest1", workspace=None):
    root = queue_run(workspace or harness.workspace, run_id)
    harness.tick({"kind": "wake"})
    return root


def call(harness, parent, ref="1", argument=1, options=CACHE):
    outbox = harness.send(submit(parent, ref, arguments=[value(argument)], options=options))
    [submitted] = messages(outbox, "submitted")
    return submitted["execution"], outbox


def test_a_cached_call_reuses_a_succeeded_execution(harness):
    harness.connect()
    root = started_root(harness)
    first, _ = call(harness, root, "1")
    harness.send(result(first, data=10))
    second, outbox = call(harness, root, "2")
    assert messages(outbox, "execute") == []
    assert Execution.objects.get(id=second).state == State.CACHED
    assert Result.objects.get(execution_id=second).successor_id == first
    [resolved] = [m for m in messages(outbox, "resolved") if m["target"] == second]
    assert resolved["result"] == {"type": "value", "value": value(10)}


def test_other_arguments_miss_the_cache(harness):
    harness.connect()
    root = started_root(harness)
    first, _ = call(harness, root, "1", argument=1)
    harness.send(result(first, data=10))
    _, outbox = call(harness, root, "2", argument=2)
    assert len(messages(outbox, "execute")) == 1


def test_a_call_is_linked_to_a_pending_execution_and_shares_its_failure(harness):
    harness.connect()
    root = started_root(harness)
    first, _ = call(harness, root, "1")
    second, outbox = call(harness, root, "2")
    assert messages(outbox, "execute") == []
    outbox = harness.send(error(first))
    targets = {m["target"]: m["result"]["type"] for m in messages(outbox, "resolved")}
    assert targets == {first: "error", second: "error"}


def test_failed_executions_are_never_reused(harness):
    harness.connect()
    root = started_root(harness)
    first, _ = call(harness, root, "1")
    harness.send(error(first))
    _, outbox = call(harness, root, "2")
    assert len(messages(outbox, "execute")) == 1


def test_an_expired_result_is_not_reused(harness):
    harness.connect()
    root = started_root(harness)
    first, _ = call(harness, root, "1")
    harness.send(result(first, data=10))
    Result.objects.filter(execution_id=first).update(
        created_at=Result.objects.get(execution_id=first).created_at - timedelta(seconds=10)
    )
    options = {"cache": {**CACHE["cache"], "max_age_ms": 5000}}
    _, outbox = call(harness, root, "2", options=options)
    assert len(messages(outbox, "execute")) == 1


def test_a_child_workspace_hits_its_bases_cache_but_not_the_reverse(harness):
    dev = Workspace.objects.create(project=harness.project, name="dev", base=harness.workspace)
    harness.connect()
    prod_root = started_root(harness, "Rprod")
    first, _ = call(harness, prod_root, "1")
    harness.send(result(first, data=10))

    dev_channel = "dev-worker"
    outbox = harness.tick(
        {"kind": "connect", "channel": dev_channel, "hello": hello(workspace="dev")}
    )
    dev_session = messages(outbox, "welcome")[0]["session"]
    dev_root = started_root(harness, "Rdev", workspace=dev)
    outbox = harness.tick(
        {
            "kind": "message",
            "session": dev_session,
            "channel": dev_channel,
            "message": submit(dev_root, "1", arguments=[value(1)], options=CACHE),
        }
    )
    [submitted] = messages(outbox, "submitted")
    assert Execution.objects.get(id=submitted["execution"]).state == State.CACHED

    harness.tick(
        {
            "kind": "message",
            "session": dev_session,
            "channel": dev_channel,
            "message": submit(dev_root, "2", arguments=[value(2)], options=CACHE),
        }
    )
    harness.tick(
        {
            "kind": "message",
            "session": dev_session,
            "channel": dev_channel,
            "message": result("Rdev:3:1", data=20),
        }
    )
    assert Execution.objects.get(id="Rdev:3:1").state == State.SUCCEEDED
    _, outbox = call(harness, prod_root, "2", argument=2)
    assert len(messages(outbox, "execute")) == 1


def test_a_call_arriving_with_its_sources_result_reuses_it(harness):
    """One tick takes the source's result and the call: the lookup sees the source's new
    state, though the tick has not written it yet."""
    harness.connect()
    root = started_root(harness)
    first, _ = call(harness, root, "1")

    def sent(message):
        return {
            "kind": "message",
            "session": harness.session,
            "channel": CHANNEL,
            "message": message,
        }

    outbox = harness.tick(
        sent(result(first, data=10)), sent(submit(root, "2", arguments=[value(1)], options=CACHE))
    )

    assert messages(outbox, "execute") == []
    [submitted] = messages(outbox, "submitted")
    assert Execution.objects.get(id=submitted["execution"]).state == State.CACHED
