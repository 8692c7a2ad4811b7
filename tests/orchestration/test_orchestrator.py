"""The orchestrator's tick, driven directly with envelopes as the consumer would send them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coflux_wire import protocol
from projects.models import WorkerSession
from runs.models import Dependency, Execution, LogMessage, Result, Step
from runs.orchestration.orchestrator import LeaseLost, Orchestrator
from runs.states import State
from tests.orchestration.support import (
    CHANNEL,
    hello,
    messages,
    queue_run,
    value,
)
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_it_welcomes_a_worker_with_a_new_session(harness):
    outbox = harness.connect()
    assert [(channel, m) for channel, m in outbox if channel == CHANNEL] == [
        (
            CHANNEL,
            {
                "type": "welcome",
                "protocol": protocol.VERSION,
                "session": harness.session,
                "executions": [],
                "token": harness.token,
            },
        )
    ]
    session = WorkerSession.objects.get(id=harness.session)
    assert session.connected and session.workspace == harness.workspace
    assert {t["name"] for t in session.targets} == {"main", "inc"}


def test_it_assigns_a_queued_run_to_a_hosting_session(harness):
    harness.connect()
    execution_id = queue_run(harness.workspace)
    outbox = harness.tick({"kind": "wake"})
    [execute] = messages(outbox, "execute")
    assert execute["execution"] == execution_id
    assert execute["arguments"] == [value(1)]
    assert execute["workspace"] == "default"
    execution = Execution.objects.get(id=execution_id)
    assert execution.state == State.ASSIGNED
    assert execution.session_id == harness.session and execution.assigned_at


def test_it_leaves_work_queued_when_nobody_hosts_the_target(harness):
    harness.connect(targets=[{"module": "other", "name": "main", "type": "workflow"}])
    execution_id = queue_run(harness.workspace)
    assert messages(harness.tick({"kind": "wake"}), "execute") == []
    assert Execution.objects.get(id=execution_id).state == State.QUEUED


def test_it_respects_a_sessions_concurrency(harness):
    harness.connect(concurrency=1)
    queue_run(harness.workspace, "Rone")
    queue_run(harness.workspace, "Rtwo")
    assert len(messages(harness.tick({"kind": "wake"}), "execute")) == 1
    running = Execution.objects.get(state=State.ASSIGNED)
    outbox = harness.send(
        {"type": "result", "execution": running.id, "result": {"type": "value", "value": value(2)}}
    )
    assert len(messages(outbox, "execute")) == 1


def test_it_runs_a_child_and_pushes_its_result_to_the_parent(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    harness.send({"type": "started", "execution": root})
    outbox = harness.send(
        {
            "type": "submit",
            "ref": "1",
            "parent": root,
            "module": "app.flows",
            "target": "inc",
            "target_type": "task",
            "arguments": [value(1)],
            "options": {},
            "group": None,
            "wait": True,
        }
    )
    [submitted] = messages(outbox, "submitted")
    [execute] = messages(outbox, "execute")
    child = submitted["execution"]
    assert child == "Rtest1:2:1" and submitted["step"] == "Rtest1:2"
    assert execute["execution"] == child
    assert Dependency.objects.filter(execution_id=root, dependency_id=child).exists()

    outbox = harness.send(
        {"type": "result", "execution": child, "result": {"type": "value", "value": value(2)}}
    )
    assert messages(outbox, "ack") == [{"type": "ack", "execution": child}]
    assert messages(outbox, "resolved") == [
        {
            "type": "resolved",
            "execution": root,
            "target": child,
            "result": {"type": "value", "value": value(2)},
        }
    ]
    assert Execution.objects.get(id=child).state == State.SUCCEEDED
    assert Execution.objects.get(id=root).started_at is not None


def test_it_answers_a_resent_submit_with_the_step_it_already_made(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    submit = {
        "type": "submit",
        "ref": "7",
        "parent": root,
        "module": "app.flows",
        "target": "inc",
        "target_type": "task",
        "arguments": [],
        "options": {},
        "group": None,
        "wait": False,
    }
    first = messages(harness.send(submit), "submitted")
    harness.orchestrator.load()  # as after a server restart
    harness.connect(session=harness.token)
    second = messages(harness.send(submit), "submitted")
    assert first == second
    assert Step.objects.filter(run_id="Rtest1").count() == 2


def test_it_stores_an_error_result_with_its_details(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    error = {
        "type": "builtins.ValueError",
        "message": "bad",
        "retryable": None,
        "frames": [{"file": "f.py", "line": 3, "name": "main", "code": "raise"}],
    }
    harness.send({"type": "result", "execution": root, "result": {"type": "error", "error": error}})
    result = Result.objects.get(execution_id=root)
    assert (result.error_type, result.error_message) == ("builtins.ValueError", "bad")
    assert result.as_message() == {"type": "error", "error": error}
    assert Execution.objects.get(id=root).state == State.FAILED


def test_it_keeps_the_first_result_and_acks_a_duplicate(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    result = {"type": "result", "execution": root, "result": {"type": "value", "value": value(1)}}
    harness.send(result)
    outbox = harness.send({**result, "result": {"type": "value", "value": value(9)}})
    assert messages(outbox, "ack") == [{"type": "ack", "execution": root}]
    assert Result.objects.get(execution_id=root).value == value(1)


def test_it_abandons_work_of_a_session_gone_past_the_grace_period(harness, settings):
    settings.COFLUX_SESSION_GRACE = 0.0
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    harness.tick({"kind": "disconnect", "session": harness.session, "channel": CHANNEL})
    harness.tick()
    assert Execution.objects.get(id=root).state == State.ABANDONED
    assert Result.objects.get(execution_id=root).type == "abandoned"
    assert WorkerSession.objects.get(id=harness.session).expired_at is not None


def test_it_resumes_a_session_that_reconnects_within_the_grace_period(harness, settings):
    settings.COFLUX_SESSION_GRACE = 60.0
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    harness.tick({"kind": "disconnect", "session": harness.session, "channel": CHANNEL})
    outbox = harness.connect(channel="worker-channel-2", session=harness.token)
    assert messages(outbox, "welcome")[0]["executions"] == [root]
    outbox = harness.send(
        {"type": "result", "execution": root, "result": {"type": "value", "value": value(5)}},
        channel="worker-channel-2",
    )
    assert messages(outbox, "ack")
    assert Execution.objects.get(id=root).state == State.SUCCEEDED


def test_it_resumes_after_a_restart_from_the_database(harness, settings):
    settings.COFLUX_SESSION_GRACE = 60.0
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    restarted = Orchestrator(harness.project.id, holder=harness.orchestrator.holder)
    outbox = restarted.load()
    assert outbox == [(CHANNEL, {"type": "orchestrator.restarted"})]
    harness.orchestrator = restarted
    welcome = messages(harness.connect(session=harness.token), "welcome")[0]
    assert welcome["executions"] == [root]


def test_resuming_a_session_takes_its_whole_token(harness):
    harness.connect()
    assert harness.token.startswith(harness.session + ".")
    for wrong in (harness.session, harness.session + ".guess", harness.token + "x"):
        outbox = harness.tick(
            {"kind": "connect", "channel": "worker-channel-2", "hello": hello(session=wrong)}
        )
        [error] = messages(outbox, "error")
        assert error["error"] == "session_invalid"
        assert harness.orchestrator.memory.sessions[harness.session].channel == CHANNEL
    outbox = harness.connect(channel="worker-channel-2", session=harness.token)
    assert messages(outbox, "welcome")[0]["session"] == harness.session
    assert "token" not in messages(outbox, "welcome")[0]


def test_a_sessions_secret_is_stored_hashed(harness):
    harness.connect()
    stored = WorkerSession.objects.get(id=harness.session).secret_hash
    secret = harness.token.partition(".")[2]
    assert stored and secret not in stored and len(stored) == 64


def test_only_one_orchestrator_holds_a_project(harness):
    with pytest.raises(LeaseLost):
        Orchestrator(harness.project.id).load()


def test_it_refuses_messages_of_an_unknown_session(harness):
    outbox = harness.tick(
        {
            "kind": "message",
            "session": "Snope",
            "channel": CHANNEL,
            "message": {"type": "heartbeat", "executions": []},
        }
    )
    assert messages(outbox, "error")[0]["error"] == "session_invalid"


def test_it_refuses_a_submit_from_an_execution_it_does_not_run(harness):
    harness.connect()
    outbox = harness.send(
        {
            "type": "submit",
            "ref": "1",
            "parent": "Rx:1:1",
            "module": "m",
            "target": "t",
            "target_type": "task",
            "arguments": [],
            "options": {},
            "group": None,
            "wait": False,
        }
    )
    [error] = messages(outbox, "error")
    assert error["error"] == "invalid_submit" and error["ref"] == "1"


def test_it_replies_to_a_wait_for_a_finished_execution(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    other = queue_run(harness.workspace, "Rother")
    harness.tick({"kind": "wake"})
    harness.send(
        {"type": "result", "execution": other, "result": {"type": "value", "value": value(3)}}
    )
    outbox = harness.send({"type": "wait", "execution": root, "targets": [other], "reply": True})
    assert messages(outbox, "resolved")[0]["result"]["value"] == value(3)
    outbox = harness.send(
        {"type": "wait", "execution": root, "targets": ["Rnope:1:1"], "reply": True}
    )
    assert messages(outbox, "error")[0]["error"] == "unknown_execution"


def test_it_stores_log_lines(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    now_ms = timezone.now().timestamp() * 1000
    harness.send(
        {
            "type": "log",
            "execution": root,
            "entries": [[now_ms, 1, "hello", {}], [now_ms + 1, 3, "oops", {}]],
        }
    )
    assert list(LogMessage.objects.values_list("template", "level")) == [("hello", 1), ("oops", 3)]


def test_a_batch_of_submits_costs_a_fixed_number_of_queries(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})

    def batch(start, count):
        return [
            {
                "kind": "message",
                "session": harness.session,
                "channel": CHANNEL,
                "message": {
                    "type": "submit",
                    "ref": str(i),
                    "parent": root,
                    "module": "app.flows",
                    "target": "inc",
                    "target_type": "task",
                    "arguments": [value(i)],
                    "options": {},
                    "group": None,
                    "wait": False,
                },
            }
            for i in range(start, start + count)
        ]

    harness.orchestrator.tick(batch(0, 2))
    with CaptureQueriesContext(connection) as queries:
        outbox = harness.orchestrator.tick(batch(100, 200))
    assert len(messages(outbox, "execute")) == 200
    # Savepoints, the step and execution inserts (SQLite splits them by its parameter limit),
    # and the assignment UPDATE.
    assert len(queries.captured_queries) <= 12


def test_it_does_not_dispatch_in_a_paused_workspace(harness):
    harness.connect()
    harness.workspace.state = Workspace.State.PAUSED
    harness.workspace.save()
    queue_run(harness.workspace)
    assert messages(harness.tick({"kind": "wake"}), "execute") == []


def test_the_next_deadline_covers_session_expiry(harness, settings):
    settings.COFLUX_SESSION_GRACE = 30.0
    harness.connect()
    harness.tick({"kind": "disconnect", "session": harness.session, "channel": CHANNEL})
    deadline = harness.orchestrator.next_deadline()
    assert deadline is not None and deadline <= timezone.now() + timedelta(seconds=30)


def test_it_announces_the_end_of_a_run_to_the_runs_group(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    outbox = harness.send(
        {"type": "result", "execution": root, "result": {"type": "value", "value": value(1)}}
    )
    finished = [m for channel, m in outbox if channel == "group:run.Rtest1"][-1]
    assert (finished["type"], finished["run"]) == ("run.finished", "Rtest1")


def test_a_start_and_a_result_in_one_tick_are_written_together(harness, settings):
    harness.connect()
    root = queue_run(harness.workspace)
    other = queue_run(harness.workspace, "Rother")
    harness.tick({"kind": "wake"})
    envelope = {"kind": "message", "session": harness.session, "channel": CHANNEL}
    harness.tick(
        {**envelope, "message": {"type": "started", "execution": root}},
        {
            **envelope,
            "message": {
                "type": "result",
                "execution": root,
                "result": {"type": "value", "value": value(1)},
            },
        },
    )
    execution = Execution.objects.get(id=root)
    assert execution.started_at == execution.completed_at is not None
    settings.COFLUX_SESSION_GRACE = 0.0
    harness.tick({"kind": "disconnect", "session": harness.session, "channel": CHANNEL})
    harness.tick()
    abandoned = Execution.objects.get(id=other)
    assert abandoned.state == State.ABANDONED and abandoned.started_at is None
