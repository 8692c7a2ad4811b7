"""Inputs in the orchestrator's tick: asking, keys, waiting, answering, cancelling, suspending
on an input and resuming once it is answered (SPEC §3.9, §3.15)."""

from __future__ import annotations

import pytest

from runs.models import Execution, Input, InputDependency
from runs.orchestration.orchestrator import Orchestrator
from runs.states import State
from tests.orchestration.support import CHANNEL, messages, queue_run, result, value

pytestmark = pytest.mark.django_db


def started_root(harness):
    harness.connect()
    root = queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    return root


def restart(harness):
    """A new orchestrator loads what the old one committed; the worker connects again."""
    harness.orchestrator = Orchestrator(harness.project.id, holder=harness.orchestrator.holder)
    harness.orchestrator.load()
    harness.connect(session=getattr(harness, "token", "") or harness.session)


def ask(execution, ref="i1", template="Deploy {service}?", **fields):
    return {
        "type": "submit_input",
        "ref": ref,
        "execution": execution,
        "template": template,
        "placeholders": {"service": value("api")},
        **fields,
    }


def asked(harness, execution, **kwargs):
    outbox = harness.send(ask(execution, **kwargs))
    [reply] = messages(outbox, "input_submitted")
    return reply["input"]


def command(harness, kind, input_id, **fields):
    envelope = {
        "kind": "command",
        "command": {"type": kind, "input": input_id, **fields},
        "reply_to": "api-1",
    }
    outbox = harness.tick(envelope)
    [(_, reply)] = [(c, m) for c, m in outbox if m["type"] == "orchestrator.reply"]
    return reply, outbox


def wait(execution, *targets, reply=True):
    return {"type": "wait", "execution": execution, "targets": list(targets), "reply": reply}


def test_an_input_is_made_with_its_prompt_and_numbered_in_its_run(harness):
    root = started_root(harness)
    first = asked(
        harness,
        root,
        key="deploy",
        schema={"type": "boolean"},
        title="Deployment",
        actions=["Ship", "Hold"],
        initial=True,
        requires={"team": ["ops"]},
    )
    second = asked(harness, root, ref="i2", template="Other?")
    assert (first, second) == ("Rtest1/i1", "Rtest1/i2")
    row = Input.objects.get(id=first)
    assert row.execution_id == root and row.workspace_id == harness.workspace.id
    assert row.template == "Deploy {service}?"
    assert row.placeholders == {"service": value("api")}
    assert (row.key, row.title, row.schema) == ("deploy", "Deployment", {"type": "boolean"})
    assert row.actions == {"respond": "Ship", "dismiss": "Hold"}
    assert row.initial is True and row.requires == {"team": ["ops"]}
    assert row.state == Input.State.PENDING


def test_the_same_key_gives_the_same_input_and_no_key_a_new_one(harness):
    root = started_root(harness)
    keyed = asked(harness, root, key="k")
    assert asked(harness, root, ref="i2", key="k") == keyed
    assert asked(harness, root, ref="i3") != asked(harness, root, ref="i4")
    assert Input.objects.filter(run_id="Rtest1").count() == 3


def test_the_same_key_in_one_tick_gives_the_same_input(harness):
    root = started_root(harness)
    outbox = harness.tick(
        *[
            {
                "kind": "message",
                "session": harness.session,
                "channel": CHANNEL,
                "message": ask(root, ref=ref, key="k"),
            }
            for ref in ("i1", "i2")
        ]
    )
    assert [m["input"] for m in messages(outbox, "input_submitted")] == ["Rtest1/i1"] * 2


def test_a_resent_ask_finds_the_input_it_made(harness):
    root = started_root(harness)
    first = asked(harness, root)
    restart(harness)
    assert asked(harness, root) == first


def test_the_same_key_with_another_prompt_is_refused(harness):
    root = started_root(harness)
    asked(harness, root, key="k")
    outbox = harness.send(ask(root, ref="i2", key="k", template="Something else?"))
    [error] = messages(outbox, "error")
    assert (error["error"], error["ref"]) == ("input_mismatch", "i2")
    outbox = harness.send(ask(root, ref="i3", key="k", schema={"type": "string"}))
    assert messages(outbox, "error")[0]["error"] == "input_mismatch"


def test_initial_values_without_a_schema_are_refused(harness):
    root = started_root(harness)
    outbox = harness.send(ask(root, initial={"value": 1}))
    [error] = messages(outbox, "error")
    assert (error["error"], error["ref"]) == ("invalid_input", "i1")
    outbox = harness.send(ask(root, ref="i2", schema={"type": "nonsense"}))
    assert messages(outbox, "error")[0]["error"] == "invalid_input"
    assert not Input.objects.exists()


def test_only_a_running_execution_may_ask(harness):
    started_root(harness)
    outbox = harness.send(ask("Rtest1:1:9"))
    assert messages(outbox, "error")[0]["error"] == "invalid_submit"


def test_a_keyed_input_is_seen_from_a_descendant_workspace_only(harness):
    from workspaces.models import Workspace

    root = started_root(harness)
    base_input = asked(harness, root, key="k")
    child = Workspace.objects.create(project=harness.project, name="dev", base=harness.workspace)
    harness.tick({"kind": "wake"})
    reply = harness.tick(
        {
            "kind": "command",
            "command": {"type": "rerun", "step": "Rtest1:1", "workspace": "dev"},
            "reply_to": "api-1",
        }
    )
    assert [m for _, m in reply if m["type"] == "orchestrator.reply"][0]["ok"]
    harness.connect(channel="worker-2", workspace="dev")
    assert Execution.objects.get(id="Rtest1:1:2").workspace_id == child.id
    outbox = harness.send(ask("Rtest1:1:2", ref="i9", key="k"), channel="worker-2")
    assert messages(outbox, "input_submitted")[0]["input"] == base_input


def test_waiting_on_an_input_answers_pending_then_the_response(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    outbox = harness.send(wait(root, input_id))
    assert messages(outbox, "pending") == [
        {"type": "pending", "execution": root, "targets": [input_id]}
    ]
    assert InputDependency.objects.filter(execution_id=root, input_id=input_id).exists()
    reply, outbox = command(harness, "respond_input", input_id, value={"ok": 1}, by="ann")
    assert reply["ok"] and reply["state"] == "responded"
    [resolved] = messages(outbox, "resolved")
    assert resolved["execution"] == root and resolved["target"] == input_id
    assert resolved["result"]["type"] == "value"
    assert resolved["result"]["value"]["data"] == {"type": "dict", "items": ["ok", 1]}
    row = Input.objects.get(id=input_id)
    assert (row.state, row.response, row.responded_by) == ("responded", {"ok": 1}, "ann")
    assert row.responded_at is not None


def test_an_answered_input_resolves_at_once_even_after_a_restart(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    command(harness, "respond_input", input_id, value=None)
    restart(harness)
    [resolved] = messages(harness.send(wait(root, input_id)), "resolved")
    assert resolved["result"] == {"type": "value", "value": value(None)}


def test_a_waiter_is_told_of_a_response_after_a_restart(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    harness.send(wait(root, input_id))
    restart(harness)
    _, outbox = command(harness, "respond_input", input_id, value="go")
    [resolved] = messages(outbox, "resolved")
    assert resolved["result"] == {"type": "value", "value": value("go")}


def test_one_response_only(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    command(harness, "respond_input", input_id, value="first")
    reply, _ = command(harness, "respond_input", input_id, value="second")
    assert reply == {
        "type": "orchestrator.reply",
        "ok": False,
        "error": "input_already_answered",
        "message": f"Input {input_id} was already responded.",
    }
    reply, _ = command(harness, "dismiss_input", input_id)
    assert reply["error"] == "input_already_answered"
    assert Input.objects.get(id=input_id).response == "first"


def test_a_response_must_match_the_schema(harness):
    root = started_root(harness)
    input_id = asked(
        harness, root, schema={"type": "object", "properties": {"n": {"type": "integer"}}}
    )
    reply, _ = command(harness, "respond_input", input_id, value={"n": "three"})
    assert reply["error"] == "invalid_response"
    assert "['n']" in reply["message"] and "integer" in reply["message"]
    assert Input.objects.get(id=input_id).state == "pending"
    reply, _ = command(harness, "respond_input", input_id, value={"n": 3})
    assert reply["ok"]


def test_formats_of_the_schema_are_checked(harness):
    root = started_root(harness)
    input_id = asked(harness, root, schema={"type": "string", "format": "date"})
    reply, _ = command(harness, "respond_input", input_id, value="yesterday")
    assert reply["error"] == "invalid_response"


def test_a_dismissed_input_tells_its_waiters(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    harness.send(wait(root, input_id))
    reply, outbox = command(harness, "dismiss_input", input_id, by="bob")
    assert reply["state"] == "dismissed"
    assert messages(outbox, "resolved")[0]["result"] == {"type": "dismissed"}
    assert Input.objects.get(id=input_id).state == "dismissed"


def test_an_unknown_input_is_refused(harness):
    started_root(harness)
    reply, _ = command(harness, "respond_input", "Rtest1/i7", value=1)
    assert reply["error"] == "input_not_found"
    reply, _ = command(harness, "dismiss_input", "not an id")
    assert reply["error"] == "input_not_found"


def test_waiting_on_an_unknown_input_is_an_error(harness):
    root = started_root(harness)
    outbox = harness.send(wait(root, "Rtest1/i4"))
    [error] = messages(outbox, "error")
    assert error["error"] == "unknown_execution" and error["target"] == "Rtest1/i4"


def test_cancelling_an_input_tells_its_waiters_cancelled(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    harness.send(wait(root, input_id))
    outbox = harness.send({"type": "cancel", "execution": root, "targets": [input_id]})
    assert messages(outbox, "resolved")[0]["result"] == {"type": "cancelled"}
    assert Input.objects.get(id=input_id).state == "cancelled"
    reply, _ = command(harness, "respond_input", input_id, value=1)
    assert reply["error"] == "input_already_answered"
    assert Execution.objects.get(id=root).state == State.ASSIGNED


def test_suspending_on_an_input_resumes_once_it_is_answered(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    outbox = harness.send(result(root, kind="suspended", after=None, dependencies=[input_id]))
    assert messages(outbox, "execute") == []
    assert Execution.objects.get(id=root).state == State.SUSPENDED
    resumed = "Rtest1:1:2"
    assert Execution.objects.get(id=resumed).state == State.QUEUED
    _, outbox = command(harness, "respond_input", input_id, value="yes")
    assert [m["execution"] for m in messages(outbox, "execute")] == [resumed]
    [resolved] = messages(harness.send(wait(resumed, input_id)), "resolved")
    assert resolved["result"] == {"type": "value", "value": value("yes")}


def test_a_suspension_on_an_answered_input_resumes_at_once(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    command(harness, "respond_input", input_id, value=1)
    outbox = harness.send(result(root, kind="suspended", after=None, dependencies=[input_id]))
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:1:2"]


def test_a_suspension_on_an_input_survives_a_restart(harness):
    root = started_root(harness)
    input_id = asked(harness, root)
    harness.send(result(root, kind="suspended", after=None, dependencies=[input_id]))
    restart(harness)
    _, outbox = command(harness, "respond_input", input_id, value=1)
    assert [m["execution"] for m in messages(outbox, "execute")] == ["Rtest1:1:2"]


def test_inputs_asked_and_answered_are_announced(harness):
    root = started_root(harness)
    outbox = harness.send(ask(root))
    workspace = f"group:workspace.{harness.workspace.id}"
    [run_event] = [m for channel, m in outbox if channel == "group:run.Rtest1"]
    assert run_event["inputs"] is True
    [workspace_event] = [m for channel, m in outbox if channel == workspace]
    assert workspace_event["inputs"] is True
    _, outbox = command(harness, "dismiss_input", "Rtest1/i1")
    assert [m["inputs"] for channel, m in outbox if channel == workspace] == [True]
