"""Inputs end to end (SPEC §8 test_inputs.py): a real server, a real worker running prompts,
answers given with the CLI."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.support import attempts, value_of
from tests.processes import cli, cli_json, wait_until

pytestmark = pytest.mark.e2e

INPUTS = "tests.e2e.flows.inputs"
WORKER_MODULES = (INPUTS,)


def listed(server, **params: Any) -> list[dict[str, Any]]:
    response = server.api("GET", "/workspaces/default/inputs", params=params)
    assert response.status_code == 200, response.text
    return response.json()["inputs"]


def asked(server, run_id: str | None = None, template: str | None = None) -> dict[str, Any]:
    """The pending input of a run (or with a template), once it has been asked."""

    def find() -> dict[str, Any] | None:
        params = {"state": "pending", **({"run": run_id} if run_id else {})}
        found = [i for i in listed(server, **params) if template in (None, i["template"])]
        return found[0] if found else None

    return wait_until(find, timeout=30, message=f"an input of {run_id or template}")


def respond(server, input_id: str, value: str):
    return cli(server, "inputs", "respond", input_id, value, "-o", "json")


def inspect(server, input_id: str) -> dict[str, Any]:
    code, found = cli_json(server, "inputs", "inspect", input_id, "-o", "json")
    assert code == 0
    return found


def result(server, run_id: str) -> Any:
    return value_of(server.result(run_id, wait=30))


def test_submit_and_respond_input(server, worker):
    run_id = server.submit(INPUTS, "asks_name")
    found = asked(server, run_id)
    assert found["id"].startswith(f"{run_id}/i")
    assert found["schema"] == {"type": "string"}
    answered = respond(server, found["id"], '"Alice"')
    assert answered.returncode == 0, answered.stderr
    assert result(server, run_id) == "Alice"


def test_submit_and_dismiss_input(server, worker):
    run_id = server.submit(INPUTS, "asks_approval", "api")
    found = asked(server, run_id)
    dismissed = cli(server, "inputs", "dismiss", found["id"])
    assert dismissed.returncode == 0, dismissed.stderr
    assert dismissed.stdout.strip() == f"Dismissed input {found['id']}."
    assert result(server, run_id) == "dismissed"
    assert inspect(server, found["id"])["response"] == {"type": "dismissed"}


def test_input_no_schema_takes_any_json(server, worker):
    run_id = server.submit(INPUTS, "asks_anything")
    found = asked(server, run_id)
    assert found["schema"] is None
    assert respond(server, found["id"], '{"nested": ["data", 1]}').returncode == 0
    assert result(server, run_id) == {"type": "dict", "items": ["nested", ["data", 1]]}


def test_input_respond_null(server, worker):
    run_id = server.submit(INPUTS, "asks_anything")
    found = asked(server, run_id)
    assert respond(server, found["id"], "null").returncode == 0
    assert result(server, run_id) is None
    assert inspect(server, found["id"])["response"] == {"type": "value", "value": None}


def test_same_key_gives_the_same_input_and_different_prompts_distinct_ones(server, worker):
    run_id = server.submit(INPUTS, "asks_twice")
    same_a, same_b, keyed_a, keyed_b, first, second, mismatch = result(server, run_id)
    assert same_a == same_b and keyed_a == keyed_b
    assert len({same_a, keyed_a, first, second}) == 4
    assert "has the key 'k' but asks something else" in mismatch
    assert len(listed(server, run=run_id)) == 4


def test_input_with_initial_requires_schema(server, worker):
    run_id = server.submit(INPUTS, "asks_with_initial")
    assert "needs a schema" in result(server, run_id)
    assert listed(server, run=run_id) == []


def test_input_suspends_execution_until_answered(server, worker, tmp_path):
    run_id = server.submit(INPUTS, "suspends_for_an_answer", str(tmp_path))
    found = asked(server, run_id)

    def suspended() -> bool:
        return "suspended" in [
            state for _, state in attempts(server.run(run_id), "suspends_for_an_answer")
        ]

    wait_until(suspended, timeout=30, message="the execution suspended")
    run = server.run(run_id)
    assert attempts(run, "suspends_for_an_answer") == [(1, "suspended"), (2, "queued")]
    assert respond(server, found["id"], '"Bob"').returncode == 0
    assert result(server, run_id) == "Bob"
    run = server.run(run_id)
    assert attempts(run, "suspends_for_an_answer") == [(1, "suspended"), (2, "succeeded")]
    # The second attempt found the same (keyed) input answered: it asked nothing new.
    assert [i["id"] for i in listed(server, run=run_id)] == [found["id"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attempt-1", "attempt-2"]


def test_input_poll_before_and_after_the_answer(server, worker, tmp_path):
    run_id = server.submit(INPUTS, "polls", str(tmp_path))
    found = asked(server, run_id)
    wait_until(lambda: (tmp_path / "polled").exists(), message="the first poll")
    assert respond(server, found["id"], '"polled!"').returncode == 0
    assert result(server, run_id) == [None, "polled!"]


def test_input_wait_then_respond_wakes_the_blocked_wait(server, worker):
    run_id = server.submit(INPUTS, "asks_name")
    found = asked(server, run_id)
    wait_until(
        lambda: attempts(server.run(run_id), "asks_name") == [(1, "assigned")],
        message="the execution running",
    )
    assert respond(server, found["id"], '"Carol"').returncode == 0
    assert result(server, run_id) == "Carol"
    assert attempts(server.run(run_id), "asks_name") == [(1, "succeeded")]


def test_input_cancel_via_cancel_is_cancelled_not_dismissed(server, worker):
    run_id = server.submit(INPUTS, "cancels")
    assert result(server, run_id) == "cancelled"
    [found] = listed(server, run=run_id)
    assert found["state"] == "cancelled"
    assert found["response"] == {"type": "cancelled"}
    refused = respond(server, found["id"], '"late"')
    assert refused.returncode == 1
    assert "already cancelled" in refused.stderr


def test_input_schema_validation_accepts_and_rejects(server, worker):
    run_id = server.submit(INPUTS, "asks_number")
    found = asked(server, run_id)
    rejected = respond(server, found["id"], '"not a number"')
    assert rejected.returncode == 1
    assert "does not match the schema" in rejected.stderr
    assert inspect(server, found["id"])["state"] == "pending"
    assert respond(server, found["id"], "42").returncode == 0
    assert result(server, run_id) == 42


def test_input_already_responded_refuses_a_second_response(server, worker):
    run_id = server.submit(INPUTS, "asks_number")
    found = asked(server, run_id)
    assert respond(server, found["id"], "1").returncode == 0
    second = respond(server, found["id"], "2")
    assert second.returncode == 1
    assert "already responded" in second.stderr
    assert result(server, run_id) == 1


def test_input_passed_between_runs(server, worker):
    run_id = server.submit(INPUTS, "hands_over", "v1.2")
    found = asked(server, template="Release {{notes}}?")
    assert found["runId"] != run_id  # asked by the spawned run, awaited by another
    assert found["placeholders"] == {"notes": "v1.2"}
    assert respond(server, found["id"], '{"version": "1.2", "approved": true}').returncode == 0
    assert result(server, run_id) == ["Release", "1.2", True]


def test_input_ref_passed_as_task_argument(server, worker):
    run_id = server.submit(INPUTS, "passes_to_a_task")
    found = asked(server, run_id)
    assert respond(server, found["id"], '{"version": "2.0"}').returncode == 0
    assert result(server, run_id) == "2.0"


def test_inspect_input_shows_its_prompt_then_its_response(server, worker):
    run_id = server.submit(INPUTS, "asks_number")
    found = asked(server, run_id)
    shown = inspect(server, found["id"])
    assert len(shown["key"]) == 16
    assert shown["template"] == "Enter a number"
    assert shown["schema"] == {"type": "integer"}
    assert shown["title"] == "A number"
    assert shown["response"] is None
    text = cli(server, "inputs", "inspect", found["id"]).stdout
    assert "title: A number" in text and '"integer"' in text
    respond(server, found["id"], "7")
    assert inspect(server, found["id"])["response"] == {"type": "value", "value": 7}
    assert result(server, run_id) == 7


def test_input_with_title_and_actions(server, worker):
    run_id = server.submit(INPUTS, "asks_approval", "db")
    found = asked(server, run_id)
    shown = inspect(server, found["id"])
    assert shown["title"] == "Deploy"
    assert shown["actions"] == {"respond": "Ship it", "dismiss": "Hold"}
    assert shown["placeholders"] == {"service": "db"}
    code, pending = cli_json(server, "inputs", "list", "-o", "json")
    assert code == 0 and found["id"] in [i["id"] for i in pending["inputs"]]
    assert respond(server, found["id"], "true").returncode == 0
    assert result(server, run_id) == "approved"
