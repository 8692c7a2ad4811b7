"""The inputs API: list, read, respond, dismiss, and the errors of each.

Inputs are asked through a real orchestrator driven with worker messages (as in
``tests/orchestration``); the API's commands reach that same orchestrator in process, so what
it refuses (a second answer, a response the schema rejects) is its real refusal.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from projects import principals
from projects.errors import Code, DomainError
from projects.tokens import create_token
from runs import inputs
from runs.orchestration.bus import REPLY_PREFIX
from tests.orchestration.support import Harness, messages, queue_run, value
from tests.people import operator_client
from tests.server.conftest import Api

pytestmark = pytest.mark.django_db

BASE = "/api/projects/default"


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Harness:
    harness = Harness()

    def call(project_id: int, command: dict[str, Any]) -> dict[str, Any]:
        outbox = harness.tick({"kind": "command", "command": command, "reply_to": "api"})
        [reply] = [m for channel, m in outbox if channel == REPLY_PREFIX + "api"]
        if not reply["ok"]:
            raise DomainError(reply["message"], code=Code(reply["error"]))
        return reply

    monkeypatch.setattr(inputs, "call_orchestrator", call)
    harness.connect()
    queue_run(harness.workspace)
    harness.tick({"kind": "wake"})
    return harness


def ask(harness: Harness, ref: str = "1", **fields: Any) -> str:
    message = {
        "type": "submit_input",
        "ref": ref,
        "execution": "Rtest1:1:1",
        "template": "Deploy {service}?",
        "placeholders": {"service": value("api")},
        **fields,
    }
    [reply] = messages(harness.send(message), "input_submitted")
    return reply["input"]


def test_an_input_is_read_with_its_prompt(api, harness):
    input_id = ask(
        harness, key="deploy", schema={"type": "string"}, title="Deploy", actions=["Go", "No"]
    )
    response = api.get(f"{BASE}/inputs/{input_id}")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": "Rtest1/i1",
        "runId": "Rtest1",
        "executionId": "Rtest1:1:1",
        "workspace": "default",
        "key": "deploy",
        "title": "Deploy",
        "template": "Deploy {service}?",
        "placeholders": {"service": "api"},
        "schema": {"type": "string"},
        "actions": {"respond": "Go", "dismiss": "No"},
        "initial": None,
        "requires": {},
        "state": "pending",
        "response": None,
        "respondedBy": "",
        "respondedAt": None,
        "createdAt": body["createdAt"],
    }


def test_a_response_is_recorded_once(api, harness):
    input_id = ask(harness)
    response = api.post(f"{BASE}/inputs/{input_id}/respond", {"value": {"n": [1, 2]}})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "responded"
    assert response.json()["response"] == {"type": "value", "value": {"n": [1, 2]}}
    assert response.json()["respondedAt"] is not None

    again = api.post(f"{BASE}/inputs/{input_id}/respond", {"value": 2})
    assert again.status_code == 409
    assert again.json()["error"] == "input_already_answered"
    assert api.post(f"{BASE}/inputs/{input_id}/dismiss").status_code == 409


def test_null_is_a_response(api, harness):
    input_id = ask(harness)
    body = api.post(f"{BASE}/inputs/{input_id}/respond", {"value": None}).json()
    assert body["response"] == {"type": "value", "value": None}


def test_a_response_needs_a_value(api, harness):
    input_id = ask(harness)
    response = api.post(f"{BASE}/inputs/{input_id}/respond", {})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert api.post(f"{BASE}/inputs/{input_id}/respond", [1]).status_code == 400


def test_a_response_the_schema_rejects_is_refused(api, harness):
    input_id = ask(harness, schema={"type": "integer"})
    response = api.post(f"{BASE}/inputs/{input_id}/respond", {"value": "three"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_response"
    assert "integer" in response.json()["message"]
    assert api.get(f"{BASE}/inputs/{input_id}").json()["state"] == "pending"
    assert api.post(f"{BASE}/inputs/{input_id}/respond", {"value": 3}).status_code == 200


def test_a_dismissed_input(api, harness):
    input_id = ask(harness)
    body = api.post(f"{BASE}/inputs/{input_id}/dismiss").json()
    assert body["state"] == "dismissed"
    assert body["response"] == {"type": "dismissed"}


def test_an_unknown_input_is_not_found(api, harness):
    for path in ("/inputs/Rtest1/i9", "/inputs/Rnope/i1", "/inputs/Rtest1/x"):
        response = api.get(BASE + path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "input_not_found"
    assert api.post(f"{BASE}/inputs/Rtest1/i9/respond", {"value": 1}).status_code == 404


def test_a_workspace_lists_its_inputs_by_run_and_state(api, harness):
    first = ask(harness)
    second = ask(harness, ref="2", template="Other?")
    queue_run(harness.workspace, "Rtest2")
    harness.tick({"kind": "wake"})
    api.post(f"{BASE}/inputs/{second}/dismiss")

    listed = api.get(f"{BASE}/workspaces/default/inputs").json()["inputs"]
    assert [i["id"] for i in listed] == [first, second]
    pending = api.get(f"{BASE}/workspaces/default/inputs", state="pending").json()["inputs"]
    assert [i["id"] for i in pending] == [first]
    of_run = api.get(f"{BASE}/workspaces/default/inputs", run="Rtest2").json()["inputs"]
    assert of_run == []
    refused = api.get(f"{BASE}/workspaces/default/inputs", state="maybe")
    assert refused.status_code == 400
    assert api.get(f"{BASE}/workspaces/nowhere/inputs").status_code == 404


def operator(name: str, *groups: str) -> Api:
    """The API as a person logged in to Studio, an operator everywhere, in ``groups``."""
    return Api(operator_client(name, *groups))


def test_a_routed_input_is_refused_to_a_person_outside_its_groups(harness):
    input_id = ask(harness, requires={"team": ["ops", "sre"]})
    outsider = operator("dev", "team:dev")
    for verb, body in (("respond", {"value": 1}), ("dismiss", None)):
        refused = outsider.post(f"{BASE}/inputs/{input_id}/{verb}", body)
        assert refused.status_code == 403, verb
        assert refused.json()["error"] == "forbidden"
        assert refused.json()["message"] == "This input is for team:ops or team:sre."
    assert inputs.input_by_id(harness.project, input_id).state == "pending"

    member = operator("sre", "team:sre")
    response = member.post(f"{BASE}/inputs/{input_id}/respond", {"value": 1})
    assert response.status_code == 200, response.content
    assert response.json()["respondedBy"] == "user sre"


def test_a_person_answers_an_input_without_requires(harness):
    input_id = ask(harness)
    response = operator("dev").post(f"{BASE}/inputs/{input_id}/dismiss")
    assert response.status_code == 200, response.content


def test_tokens_answer_routed_inputs(api, harness):
    token, secret = create_token(principals.super_principal(), harness.project, "ci", ["*"])
    service = Api(Client(headers={"Authorization": f"Bearer {secret}"}))
    first = ask(harness, requires={"team": ["ops"]})
    response = service.post(f"{BASE}/inputs/{first}/respond", {"value": 1})
    assert response.status_code == 200, response.content
    assert response.json()["respondedBy"] == f"token {token.id} (ci)"

    second = ask(harness, ref="2", template="Other?", requires={"team": ["ops"]})
    assert api.post(f"{BASE}/inputs/{second}/dismiss").status_code == 200


def test_the_schema_describes_the_inputs_api(api, harness):
    response = api.get("/api/schema/", format="json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    respond = paths["/api/projects/{project}/inputs/{run_id}/{number}/respond"]["post"]
    assert "requestBody" in respond
