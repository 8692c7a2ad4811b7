"""Retries, forwards, cancellation, suspension, deferral, spawned runs, routing and memo in the
orchestrator's tick."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Dependency, Execution, Result, Run
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

pytestmark = pytest.mark.django_db

IMMEDIATE = {"limit": 2, "backoff_min_ms": 0, "backoff_max_ms": 0}


def started_root(harness, **connect):
    harness.connect(**connect)
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    return root


def child_of(harness, root, ref="1", **kwargs):
    outbox = harness.send(submit(root, ref, **kwargs))
    [submitted] = messages(outbox, "submitted")
    return submitted["execution"], outbox


def state(execution_id):
    return Execution.objects.get(id=execution_id).state


def test_a_failed_attempt_is_retried_and_the_parent_sees_only_the_final_outcome(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root, options={"retries": IMMEDIATE})
    outbox = harness.send(error(child))
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:2:2"]
    assert messages(outbox, "resolved") == []
    stored = Result.objects.get(execution_id=child)
    assert stored.type == "error" and stored.successor_id == "Rtest1:2:2"
    assert Execution.objects.get(id="Rtest1:2:2").failures_before == 1

    outbox = harness.send(error("Rtest1:2:2"))
    outbox = harness.send(result("Rtest1:2:3", data=5))
    [resolved] = messages(outbox, "resolved")
    assert resolved["execution"] == root and resolved["target"] == child
    assert resolved["result"] == {"type": "value", "value": value(5)}


def test_retries_stop_at_the_limit(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root, options={"retries": IMMEDIATE})
    harness.send(error(child))
    harness.send(error("Rtest1:2:2"))
    outbox = harness.send(error("Rtest1:2:3"))
    [resolved] = messages(outbox, "resolved")
    assert resolved["target"] == child and resolved["result"]["type"] == "error"
    assert not Execution.objects.filter(id="Rtest1:2:4").exists()


def test_an_error_marked_not_retryable_fails_at_once(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root, options={"retries": IMMEDIATE})
    outbox = harness.send(error(child, retryable=False))
    assert messages(outbox, "resolved")[0]["result"]["type"] == "error"


def test_a_retry_waits_for_its_backoff(harness):
    root = started_root(harness)
    policy = {"limit": 3, "backoff_min_ms": 60_000, "backoff_max_ms": 60_000}
    child, _ = child_of(harness, root, options={"retries": policy})
    outbox = harness.send(error(child))
    assert messages(outbox, "execute") == []
    retry = Execution.objects.get(id="Rtest1:2:2")
    assert retry.state == State.QUEUED
    assert retry.execute_after - timezone.now() > timedelta(seconds=50)


def test_a_timeout_cancels_the_executions_descendants_and_is_retried(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root, options={"retries": IMMEDIATE})
    harness.send({"type": "started", "execution": child})
    grandchild, _ = child_of(harness, child, ref="2")
    outbox = harness.send(result(child, kind="timeout"))
    assert {"type": "abort", "execution": grandchild} in messages(outbox, "abort")
    assert state(grandchild) == State.CANCELLED
    assert state(child) == State.TIMED_OUT
    assert Execution.objects.get(id="Rtest1:2:2").state == State.ASSIGNED


def test_cancelling_reaches_every_descendant_and_tells_waiters(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root)
    grandchild, _ = child_of(harness, child, ref="2")
    queued, _ = child_of(harness, child, ref="3", options={"delay_ms": 60_000})
    outbox = harness.send({"type": "cancel", "execution": root, "targets": [child]})
    aborted = {m["execution"] for m in messages(outbox, "abort")}
    assert aborted == {child, grandchild}
    assert {state(e) for e in (child, grandchild, queued)} == {State.CANCELLED}
    [resolved] = [m for m in messages(outbox, "resolved") if m["execution"] == root]
    assert resolved["result"] == {"type": "cancelled"}
    assert state(root) == State.ASSIGNED


def test_the_cancel_command_replies_with_what_it_cancelled(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root)
    outbox = harness.tick(
        {"kind": "command", "command": {"type": "cancel", "execution": root}, "reply_to": "r1"}
    )
    [(channel, reply)] = [(c, m) for c, m in outbox if m["type"] == "orchestrator.reply"]
    assert channel == "reply:r1"
    assert reply["ok"] and set(reply["cancelled"]) == {root, child}


def test_the_cancel_command_refuses_an_unknown_execution(harness):
    harness.connect()
    outbox = harness.tick(
        {
            "kind": "command",
            "command": {"type": "cancel", "execution": "Rnope:1:1"},
            "reply_to": "r",
        }
    )
    [reply] = messages(outbox, "orchestrator.reply")
    assert reply == {
        "type": "orchestrator.reply",
        "ok": False,
        "error": "execution_not_found",
        "message": "No execution 'Rnope:1:1'.",
    }


def test_a_suspended_execution_resumes_once_a_dependency_has_a_result(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root)
    outbox = harness.send(result(root, kind="suspended", after=None, dependencies=[child]))
    assert messages(outbox, "execute") == []
    assert state(root) == State.SUSPENDED
    resumed = "Rtest1:1:2"
    assert Execution.objects.get(id=resumed).wait_for == [child]
    outbox = harness.send(result(child, data=3))
    assert [m["execution"] for m in messages(outbox, "execute")] == [resumed]


def test_a_suspension_with_a_time_waits_until_then(harness):
    root = started_root(harness)
    later = int((timezone.now() + timedelta(minutes=5)).timestamp() * 1000)
    harness.send(result(root, kind="suspended", after=later, dependencies=[]))
    resumed = Execution.objects.get(id="Rtest1:1:2")
    assert resumed.state == State.QUEUED
    assert int(resumed.execute_after.timestamp() * 1000) == later


def test_a_recurrent_target_runs_again_after_returning_none(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root, options={"recurrent": True})
    outbox = harness.send(result(child, data=None))
    assert state(child) == State.RECURRED
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:2:2"]
    outbox = harness.send(result("Rtest1:2:2", data=7))
    [resolved] = messages(outbox, "resolved")
    assert resolved["target"] == child and resolved["result"]["value"] == value(7)


def test_deferred_calls_collapse_into_the_newest(harness):
    root = started_root(harness)
    defer = {"defer": {"params": [0]}, "delay_ms": 60_000}
    first, _ = child_of(harness, root, ref="1", arguments=[value("k"), value(1)], options=defer)
    second, _ = child_of(harness, root, ref="2", arguments=[value("k"), value(2)], options=defer)
    assert state(first) == State.DEFERRED
    assert Result.objects.get(execution_id=first).successor_id == second
    assert state(second) == State.QUEUED


def test_waiting_on_a_deferred_call_gets_the_survivors_outcome(harness):
    root = started_root(harness)
    defer = {"defer": {"params": [0]}}
    calls = [submit(root, str(n), arguments=[value("k"), value(n)], options=defer) for n in (1, 2)]
    outbox = harness.tick(
        *(
            {"kind": "message", "session": harness.session, "channel": CHANNEL, "message": m}
            for m in calls
        )
    )
    first, second = (m["execution"] for m in messages(outbox, "submitted"))
    assert [m["execution"] for m in messages(outbox, "execute")] == [second]
    assert state(first) == State.DEFERRED
    outbox = harness.send(result(second, data=2))
    resolved = {m["target"]: m["result"] for m in messages(outbox, "resolved")}
    assert resolved == {first: resolved[second], second: {"type": "value", "value": value(2)}}


def test_a_call_of_a_workflow_spawns_a_run_whose_outcome_is_the_calls(harness):
    root = started_root(harness)
    child, outbox = child_of(harness, root, target="main")
    spawned = Run.objects.get(parent_id=child)
    assert state(child) == State.SPAWNED
    assert [m["execution"] for m in messages(outbox, "execute")] == [f"{spawned.id}:1:1"]
    outbox = harness.send(result(f"{spawned.id}:1:1", data=9))
    [resolved] = [m for m in messages(outbox, "resolved") if m["execution"] == root]
    assert resolved["target"] == child and resolved["result"]["value"] == value(9)


def test_cancelling_a_caller_cancels_the_run_it_spawned(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root, target="main")
    spawned_root = f"{Run.objects.get(parent_id=child).id}:1:1"
    harness.send({"type": "cancel", "execution": root, "targets": [root]})
    assert state(spawned_root) == State.CANCELLED


def test_work_that_requires_a_tag_goes_only_to_a_worker_providing_it(harness):
    root = started_root(harness)
    gpu = "gpu-worker"
    harness.tick(
        {
            "kind": "connect",
            "channel": gpu,
            "hello": hello(provides={"gpu": ["a100"]}),
        }
    )
    for ref in range(5):
        outbox = harness.send(submit(root, str(ref), options={"requires": {"gpu": ["a100"]}}))
        assert [c for c, m in outbox if m["type"] == "execute"] == [gpu]


def test_a_worker_accepting_a_tag_gets_no_work_that_does_not_require_it(harness):
    harness.connect(accepts={"tier": ["batch"]})
    queue_run(harness.workspace)
    assert messages(harness.tick({"kind": "wake"}), "execute") == []


def test_heartbeats_abandon_missing_executions_and_abort_unknown_ones(harness):
    root = started_root(harness)
    outbox = harness.send({"type": "heartbeat", "executions": [root, "Rother:1:1"]})
    assert messages(outbox, "abort") == [{"type": "abort", "execution": "Rother:1:1"}]
    harness.send({"type": "heartbeat", "executions": [root]})
    harness.send({"type": "heartbeat", "executions": []})
    assert state(root) == State.ABANDONED


def test_a_memoised_call_reuses_the_earlier_execution(harness):
    root = started_root(harness)
    first, _ = child_of(harness, root, ref="1", options={"memo": True})
    again, outbox = child_of(harness, root, ref="2", options={"memo": True})
    assert again == first and messages(outbox, "execute") == []
    assert Dependency.objects.get(execution_id=root, dependency_id=first).memo_hit
    other, _ = child_of(harness, root, ref="3", arguments=[value(2)], options={"memo": True})
    assert other != first


def test_a_memoised_call_after_a_failure_runs_again(harness):
    root = started_root(harness)
    first, _ = child_of(harness, root, ref="1", options={"memo": True})
    harness.send(error(first))
    again, _ = child_of(harness, root, ref="2", options={"memo": True})
    assert again != first


def test_a_resumed_workflow_gets_its_memoised_childs_result_at_once(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root, options={"memo": True})
    harness.send(result(root, kind="suspended", after=None, dependencies=[child]))
    outbox = harness.send(result(child, data=4))
    resumed = "Rtest1:1:2"
    assert [m["execution"] for m in messages(outbox, "execute")] == [resumed]
    again, outbox = child_of(harness, resumed, options={"memo": True})
    assert again == child
    [resolved] = messages(outbox, "resolved")
    assert resolved["execution"] == resumed and resolved["result"]["value"] == value(4)


def test_wait_holds_a_call_until_the_executions_passed_to_it_finish(harness):
    root = started_root(harness)
    producer, _ = child_of(harness, root, ref="1", options={"delay_ms": 60_000})
    ref = {"type": "execution", "id": producer, "module": "app.flows", "target": "inc"}
    argument = {
        "type": "inline",
        "format": "json",
        "data": {"type": "ref", "index": 0},
        "refs": [ref],
    }
    consumer, outbox = child_of(harness, root, ref="2", arguments=[argument], options={"wait": [0]})
    assert messages(outbox, "execute") == []
    harness.send({"type": "cancel", "execution": root, "targets": [producer]})
    assert state(consumer) == State.ASSIGNED


def test_a_wait_for_a_pending_execution_is_answered_with_pending(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root)
    outbox = harness.send({"type": "wait", "execution": root, "targets": [child], "reply": True})
    assert messages(outbox, "pending") == [
        {"type": "pending", "execution": root, "targets": [child]}
    ]


def test_rerunning_a_step_makes_a_new_attempt(harness):
    root = started_root(harness)
    child, _ = child_of(harness, root)
    harness.send(result(child, data=1))
    outbox = harness.tick(
        {
            "kind": "command",
            "command": {"type": "rerun", "step": "Rtest1:2", "workspace": None},
            "reply_to": "r",
        }
    )
    [reply] = messages(outbox, "orchestrator.reply")
    assert reply["ok"] and reply["execution_id"] == "Rtest1:2:2" and reply["attempt"] == 2
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:2:2"]


def test_rerunning_in_an_unrelated_workspace_is_refused(harness):
    from workspaces.models import Workspace

    root = started_root(harness)
    Workspace.objects.create(project=harness.project, name="other")
    harness.tick({"kind": "wake"})
    outbox = harness.tick(
        {
            "kind": "command",
            "command": {"type": "rerun", "step": "Rtest1:1", "workspace": "other"},
            "reply_to": "r",
        }
    )
    [reply] = messages(outbox, "orchestrator.reply")
    assert reply["error"] == "workspace_invalid"
    assert state(root) == State.ASSIGNED


def test_a_paused_workspace_gets_nothing_dispatched_until_resumed(harness):
    harness.connect()
    harness.workspace.state = "paused"
    harness.workspace.save()
    execution = queue_run(harness.workspace)
    assert messages(harness.tick({"kind": "wake"}), "execute") == []
    harness.workspace.state = "active"
    harness.workspace.save()
    assert [m["execution"] for m in messages(harness.tick({"kind": "wake"}), "execute")] == [
        execution
    ]


def test_forwards_survive_a_restart(harness):
    root = started_root(harness)
    policy = {"limit": 1, "backoff_min_ms": 60_000, "backoff_max_ms": 60_000}
    child, _ = child_of(harness, root, options={"retries": policy})
    harness.send(error(child))
    harness.orchestrator.load()
    harness.connect(session=harness.token)
    retry = harness.orchestrator.memory.pending["Rtest1:2:2"]
    retry.execute_after = None
    outbox = harness.tick({"kind": "wake"})
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:2:2"]
    outbox = harness.send(result("Rtest1:2:2", data=1))
    resolved = [m for m in messages(outbox, "resolved") if m["target"] == child]
    assert resolved and resolved[0]["execution"] == root


def archive(harness, name):
    outbox = harness.tick(
        {"kind": "command", "command": {"type": "archive", "workspace": name}, "reply_to": "r"}
    )
    [reply] = messages(outbox, "orchestrator.reply")
    return reply, outbox


def test_archiving_cancels_queued_work_and_ends_the_workspaces_sessions(harness):
    root = started_root(harness)
    queued, _ = child_of(harness, root, options={"delay_ms": 60_000})
    reply, outbox = archive(harness, "default")
    assert reply["ok"] and reply["cancelled"] == [queued]
    assert reply["sessions"] == [harness.session]
    assert state(queued) == State.CANCELLED and state(root) == State.ABANDONED
    assert [m["error"] for m in messages(outbox, "error")] == ["workspace_archived"]
    harness.workspace.refresh_from_db()
    assert harness.workspace.state == "archived"


def test_archiving_a_workspace_with_live_children_is_refused(harness):
    from workspaces.models import Workspace

    harness.connect()
    Workspace.objects.create(project=harness.project, name="dev", base=harness.workspace)
    reply, _ = archive(harness, "default")
    assert reply["error"] == "workspace_has_children"
    harness.workspace.refresh_from_db()
    assert harness.workspace.state == "active"
