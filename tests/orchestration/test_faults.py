"""What the tick does when something goes wrong: one envelope failing, a worker that never
received what it was given, blocked executions and their slots, and the change events."""

from __future__ import annotations

import pytest

from runs.models import Execution
from runs.orchestration import messages as message_handlers
from runs.orchestration.memory import SessionState
from runs.states import State
from tests.orchestration.support import (
    CHANNEL,
    messages,
    queue_run,
    result,
    submit,
    value,
)

pytestmark = pytest.mark.django_db

OTHER = "worker-channel-2"


def test_one_failing_envelope_does_not_cost_the_rest_of_the_batch(harness, monkeypatch):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    session = harness.session
    harness.connect(channel=OTHER)
    other = harness.session

    real_logs = message_handlers.logs

    def logs_failing_on_poison(memory, tick, items):
        if any(e[2] == "poison" for item in items for e in item.message["entries"]):
            raise RuntimeError("a bug met this message")
        real_logs(memory, tick, items)

    monkeypatch.setattr(message_handlers, "logs", logs_failing_on_poison)
    poison = {"type": "log", "execution": root, "entries": [[0, 2, "poison", {}]]}
    outbox = harness.tick(
        {
            "kind": "message",
            "session": session,
            "channel": CHANNEL,
            "message": result(root, data=7),
        },
        {"kind": "message", "session": other, "channel": OTHER, "message": poison},
    )
    assert Execution.objects.get(id=root).state == State.SUCCEEDED
    assert (CHANNEL, {"type": "ack", "execution": root}) in outbox
    [error] = [m for channel, m in outbox if channel == OTHER and m["type"] == "error"]
    assert error["error"] == "internal_error"
    assert not [m for channel, m in outbox if channel == CHANNEL and m["type"] == "error"]
    # Both workers are still connected: their next messages are taken.
    heartbeat = {"type": "heartbeat", "executions": []}
    for channel, session_id in ((CHANNEL, session), (OTHER, other)):
        outbox = harness.tick(
            {"kind": "message", "session": session_id, "channel": channel, "message": heartbeat}
        )
        assert not messages(outbox, "error")


def test_a_reload_keeps_connected_sessions_connected(harness):
    harness.connect(concurrency=2)
    harness.orchestrator.memory.sessions[harness.session].blocked.add("Rx:1:1")
    outbox = harness.orchestrator.reload()
    assert not [m for _, m in outbox if m.get("type") == "orchestrator.restarted"]
    session: SessionState = harness.orchestrator.memory.sessions[harness.session]
    assert session.channel == CHANNEL and session.disconnected_at is None
    assert session.blocked == {"Rx:1:1"}


def test_taking_over_asks_connected_workers_to_announce_themselves_again(harness):
    harness.connect()
    outbox = harness.orchestrator.load()
    assert (CHANNEL, {"type": "orchestrator.restarted"}) in outbox
    assert harness.orchestrator.memory.sessions[harness.session].channel is None


def test_a_declined_execution_is_queued_again_and_dispatched(harness):
    harness.connect(concurrency=1)
    root = queue_run(harness.workspace)
    outbox = harness.tick({"kind": "wake"})
    assert [m["execution"] for m in messages(outbox, "execute")] == [root]
    outbox = harness.send({"type": "declined", "execution": root})
    # Queued again, then given out once more: the worker has its slot free.
    assert [m["execution"] for m in messages(outbox, "execute")] == [root]
    execution = Execution.objects.get(id=root)
    assert execution.state == State.ASSIGNED and execution.attempt == 1


def test_a_decline_from_another_session_changes_nothing(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    harness.connect(channel=OTHER)
    outbox = harness.send({"type": "declined", "execution": root}, channel=OTHER)
    assert not messages(outbox, "execute")
    assert root in harness.orchestrator.memory.running


def test_a_blocked_execution_frees_its_slot_for_the_work_it_waits_for(harness):
    harness.connect(concurrency=1, max_processes=4)
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    outbox = harness.send(submit(root))
    assert not messages(outbox, "execute")  # the only slot is the workflow's
    outbox = harness.send({"type": "waiting", "execution": root, "waiting": True})
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:2:1"]


def test_max_processes_caps_executions_blocked_or_not(harness):
    harness.connect(concurrency=1, max_processes=2)
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    harness.send(submit(root, "1"))
    harness.send(submit(root, "2"))
    outbox = harness.send({"type": "waiting", "execution": root, "waiting": True})
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:2:1"]
    outbox = harness.send(result("Rtest1:2:1", data=1))
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:3:1"]


def test_room_left_by_blocked_executions_goes_to_the_work_they_wait_for(harness):
    harness.connect(concurrency=1, max_processes=4)
    first = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    harness.send({"type": "waiting", "execution": first, "waiting": True})
    queue_run(harness.workspace, "Rtest2")
    outbox = harness.tick({"kind": "wake"})
    assert not messages(outbox, "execute")  # another run would only block beside it
    outbox = harness.send(submit(first))
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:2:1"]


def test_an_execution_running_again_counts_again(harness):
    harness.connect(concurrency=1)
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    harness.send({"type": "waiting", "execution": root, "waiting": True})
    harness.send({"type": "waiting", "execution": root, "waiting": False})
    queue_run(harness.workspace, "Rtest2")
    outbox = harness.tick({"kind": "wake"})
    assert not messages(outbox, "execute")


def test_changes_are_announced_to_the_runs_and_workspaces_groups(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    outbox = harness.tick({"kind": "wake"})
    run_events = [m for channel, m in outbox if channel == "group:run.Rtest1"]
    assert run_events == [
        {
            "type": "run.changed",
            "run": "Rtest1",
            "steps": ["Rtest1:1"],
            "logs": False,
            "metrics": False,
            "inputs": False,
        }
    ]
    workspace = f"group:workspace.{harness.workspace.id}"
    assert [m["runs"] for channel, m in outbox if channel == workspace] == [["Rtest1"]]

    log = {"type": "log", "execution": root, "entries": [[0, 2, "hi", {}]]}
    outbox = harness.send(log)
    assert [m for channel, m in outbox if channel == "group:run.Rtest1"] == [
        {
            "type": "run.changed",
            "run": "Rtest1",
            "steps": [],
            "logs": True,
            "metrics": False,
            "inputs": False,
        }
    ]
    outbox = harness.send(result(root, data=1))
    kinds = [m["type"] for channel, m in outbox if channel == "group:run.Rtest1"]
    assert kinds == ["run.changed", "run.finished"]


def test_a_cancel_reaches_only_the_runs_the_senders_session_works_on(harness):
    harness.connect(concurrency=4)
    mine = queue_run(harness.workspace)
    theirs = queue_run(harness.workspace, "Rtest2")
    harness.tick({"kind": "wake"})
    harness.connect(channel=OTHER)
    outbox = harness.send(
        {"type": "cancel", "execution": mine, "targets": [mine, theirs]}, channel=OTHER
    )
    assert messages(outbox, "error")[0]["error"] == "invalid_cancel"
    assert {mine, theirs} <= set(harness.orchestrator.memory.running)


def test_an_execution_cannot_cancel_another_workers_run(harness):
    harness.connect(concurrency=1)
    mine, first_session = queue_run(harness.workspace), harness.session
    harness.tick({"kind": "wake"})
    harness.connect(channel=OTHER, concurrency=1)
    theirs = queue_run(harness.workspace, "Rtest2")
    harness.tick({"kind": "wake"})
    assert harness.orchestrator.memory.running[theirs].session_id == harness.session
    harness.session = first_session
    harness.send({"type": "cancel", "execution": mine, "targets": [theirs]})
    assert Execution.objects.get(id=theirs).state == State.ASSIGNED


def test_a_wait_never_reaches_another_projects_execution(harness):
    from projects.models import Project
    from workspaces.models import Workspace

    other_project = Project.objects.ensure("other")
    foreign = queue_run(Workspace.objects.ensure(other_project, "default"), "Rforeign")
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    outbox = harness.send({"type": "wait", "execution": root, "targets": [foreign], "reply": True})
    assert messages(outbox, "error")[0]["error"] == "unknown_execution"


def test_a_finished_runs_event_carries_its_outcome(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    outbox = harness.send(result(root, data=7))
    [finished] = [m for _, m in outbox if m["type"] == "run.finished"]
    assert finished["outcome"] == {
        "status": "succeeded",
        "result": {"type": "value", "value": value(7)},
    }


def test_an_older_attempt_finishing_announces_no_outcome(harness):
    """A run's outcome is its root's latest attempt's: an older attempt in another workspace
    finishing later is not it."""
    from workspaces.models import Workspace

    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    Workspace.objects.create(project=harness.project, name="dev", base=harness.workspace)
    [reply] = [
        m
        for _, m in harness.tick(
            {
                "kind": "command",
                "command": {"type": "rerun", "step": "Rtest1:1", "workspace": "dev"},
                "reply_to": "r",
            }
        )
        if m["type"] == "orchestrator.reply"
    ]
    assert reply["ok"]
    outbox = harness.send(result(root, data=1))
    [finished] = [m for _, m in outbox if m["type"] == "run.finished"]
    assert "outcome" not in finished
