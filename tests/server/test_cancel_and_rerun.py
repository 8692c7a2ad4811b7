"""The cancel and re-run endpoints up to the orchestrator: what they check and what they send.

The orchestrator's side is in ``test_cancel_and_rerun_live.py``, against a real server; here the
call to it is replaced by one that records the command and answers as the orchestrator would.
"""

from __future__ import annotations

from typing import Any

import pytest

from projects.errors import Code, DomainError
from projects.mailbox import OrchestratorUnavailable
from projects.models import Project
from runs import control
from runs.submission import submit_run
from runs.values import from_plain_json
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

PROJECT = "/api/projects/default"


class FakeOrchestrator:
    def __init__(self) -> None:
        self.commands: list[tuple[int, dict[str, Any]]] = []
        self.reply: dict[str, Any] | Exception = {"ok": True}

    def __call__(self, project_id: int, command: dict[str, Any]) -> dict[str, Any]:
        self.commands.append((project_id, command))
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


@pytest.fixture
def orchestrator(monkeypatch: pytest.MonkeyPatch) -> FakeOrchestrator:
    fake = FakeOrchestrator()
    monkeypatch.setattr(control, "call_orchestrator", fake)
    return fake


@pytest.fixture
def run_id(registered: Workspace) -> str:
    execution = submit_run(registered, "app.flows", "greet", [from_plain_json("x")])
    return execution.step.run_id


# --- cancel ---------------------------------------------------------------------------------


def test_it_cancels_an_execution(api, orchestrator, run_id, project):
    orchestrator.reply = {"ok": True, "cancelled": [f"{run_id}:1:1", f"{run_id}:2:1"]}

    response = api.post(f"{PROJECT}/executions/{run_id}:1:1/cancel")

    assert response.status_code == 200
    assert response.json() == {"cancelled": [f"{run_id}:1:1", f"{run_id}:2:1"]}
    assert orchestrator.commands == [(project.pk, {"type": "cancel", "execution": f"{run_id}:1:1"})]


def test_it_accepts_an_empty_object_as_the_body_of_a_cancel(api, orchestrator, run_id):
    orchestrator.reply = {"ok": True, "cancelled": []}

    response = api.post(f"{PROJECT}/executions/{run_id}:1:1/cancel", {})

    assert response.status_code == 200
    assert response.json() == {"cancelled": []}


@pytest.mark.parametrize("execution", ["{run}:1:2", "{run}:2:1", "Rnothing:1:1", "{run}:1", "x"])
def test_it_reports_an_unknown_execution_without_asking_the_orchestrator(
    api, orchestrator, run_id, execution
):
    execution = execution.format(run=run_id)

    response = api.post(f"{PROJECT}/executions/{execution}/cancel")

    assert response.status_code == 404
    assert response.json() == {
        "error": "execution_not_found",
        "message": f"No execution {execution!r}.",
        "details": {"execution": execution},
    }
    assert orchestrator.commands == []


def test_it_does_not_cancel_another_projects_execution(api, orchestrator, run_id):
    Project.objects.ensure("other")

    response = api.post(f"/api/projects/other/executions/{run_id}:1:1/cancel")

    assert response.status_code == 404
    assert response.json()["error"] == "execution_not_found"
    assert orchestrator.commands == []


def test_it_rejects_a_body_with_fields_when_cancelling(api, orchestrator, run_id):
    response = api.post(f"{PROJECT}/executions/{run_id}:1:1/cancel", {"force": True})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert orchestrator.commands == []


def test_it_reports_an_orchestrator_that_does_not_answer(api, orchestrator, run_id):
    orchestrator.reply = OrchestratorUnavailable("The project's orchestrator did not answer.")

    response = api.post(f"{PROJECT}/executions/{run_id}:1:1/cancel")

    assert response.status_code == 503
    assert response.json()["error"] == "orchestrator_unavailable"


def test_it_answers_a_wrong_method_on_cancel_with_json(api, run_id):
    response = api.get(f"{PROJECT}/executions/{run_id}:1:1/cancel")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


# --- re-run ---------------------------------------------------------------------------------


def test_it_reruns_a_step_in_the_workspace_of_its_latest_execution(
    api, orchestrator, run_id, project
):
    orchestrator.reply = {"ok": True, "execution_id": f"{run_id}:1:2", "attempt": 2}

    response = api.post(f"{PROJECT}/steps/{run_id}:1/rerun")

    assert response.status_code == 201
    assert response.json() == {
        "runId": run_id,
        "stepId": f"{run_id}:1",
        "executionId": f"{run_id}:1:2",
        "attempt": 2,
    }
    assert orchestrator.commands == [
        (project.pk, {"type": "rerun", "step": f"{run_id}:1", "workspace": None})
    ]


def test_it_reruns_a_step_in_a_named_workspace(api, orchestrator, run_id, registered, project):
    Workspace.objects.create(project=project, name="dev/Alice", base=registered)
    orchestrator.reply = {"ok": True, "execution_id": f"{run_id}:1:2", "attempt": 2}

    response = api.post(f"{PROJECT}/steps/{run_id}:1/rerun", {"workspace": "DEV/alice"})

    assert response.status_code == 201
    # The orchestrator gets the workspace's name as stored.
    assert orchestrator.commands[0][1]["workspace"] == "dev/Alice"


def test_it_passes_on_the_orchestrators_refusal(api, orchestrator, run_id, project):
    Workspace.objects.create(project=project, name="elsewhere")
    orchestrator.reply = DomainError("Not a descendant.", code=Code.WORKSPACE_INVALID)

    response = api.post(f"{PROJECT}/steps/{run_id}:1/rerun", {"workspace": "elsewhere"})

    assert response.status_code == 400
    assert response.json()["error"] == "workspace_invalid"


def test_it_reports_an_unknown_workspace_for_a_rerun(api, orchestrator, run_id, project):
    response = api.post(f"{PROJECT}/steps/{run_id}:1/rerun", {"workspace": "nothing"})

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"
    assert orchestrator.commands == []
    assert not Workspace.objects.filter(name="nothing").exists()


@pytest.mark.parametrize("step", ["{run}:2", "Rnothing:1", "{run}:1:1", "{run}:0", "{run}"])
def test_it_reports_an_unknown_step(api, orchestrator, run_id, step):
    step = step.format(run=run_id)

    response = api.post(f"{PROJECT}/steps/{step}/rerun")

    assert response.status_code == 404
    assert response.json()["error"] == "step_not_found"
    assert response.json()["details"] == {"step": step}
    assert orchestrator.commands == []


def test_it_does_not_rerun_another_projects_step(api, orchestrator, run_id):
    Project.objects.ensure("other")

    response = api.post(f"/api/projects/other/steps/{run_id}:1/rerun")

    assert response.status_code == 404
    assert response.json()["error"] == "step_not_found"


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        ([], "invalid_request", "object"),
        ({"workspace": 3}, "invalid_request", "'workspace'"),
        ({"attempt": 3}, "invalid_request", "'attempt'"),
        ({"workspace": "no spaces"}, "invalid_workspace", "'no spaces'"),
    ],
)
def test_it_rejects_a_malformed_rerun(api, orchestrator, run_id, body, code, named):
    response = api.post(f"{PROJECT}/steps/{run_id}:1/rerun", body)

    assert response.status_code == 400
    assert response.json()["error"] == code
    assert named in response.json()["message"]
    assert orchestrator.commands == []


def test_it_rejects_malformed_json_for_a_rerun(api, orchestrator, run_id):
    response = api.client.post(
        f"{PROJECT}/steps/{run_id}:1/rerun", "{nope", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
