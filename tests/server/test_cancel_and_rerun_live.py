"""Cancelling, re-running and pausing through the API of a real server and its orchestrator.

No worker is connected, so submitted runs stay queued: enough to see what the orchestrator
records. Every test works in a workspace of its own, since the session's server is shared.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.processes import AUTH
from tests.sample_targets import GREET


class Live:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=f"{url}/api/projects/default", headers=AUTH, timeout=30)
        self.workspace = f"live/{secrets.token_hex(4)}"

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, path, json=body)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.request(method, path, body)
        assert response.is_success, response.text
        return response.json()

    def submit(self, workspace: str | None = None) -> str:
        space = workspace or self.workspace
        self.ok("POST", f"/workspaces/{space}/manifests", {"modules": {"app.flows": [GREET]}})
        body = {"module": "app.flows", "target": "greet", "arguments": ["x"]}
        return self.ok("POST", f"/workspaces/{space}/runs", body)["runId"]

    def executions(self, run_id: str, step: int = 1) -> list[dict[str, Any]]:
        snapshot = self.ok("GET", f"/runs/{run_id}")
        return next(s for s in snapshot["steps"] if s["number"] == step)["executions"]


@pytest.fixture
def live(live_server_url: str) -> Live:
    live = Live(live_server_url)
    yield live
    live.http.close()


def test_it_cancels_a_queued_run(live):
    run_id = live.submit()

    cancelled = live.ok("POST", f"/executions/{run_id}:1:1/cancel")

    assert cancelled == {"cancelled": [f"{run_id}:1:1"]}
    assert live.ok("GET", f"/runs/{run_id}/result")["status"] == "cancelled"
    assert live.executions(run_id)[0]["result"] == {"type": "cancelled"}


def test_it_cancels_nothing_that_has_already_finished(live):
    run_id = live.submit()
    live.ok("POST", f"/executions/{run_id}:1:1/cancel")

    assert live.ok("POST", f"/executions/{run_id}:1:1/cancel") == {"cancelled": []}


def test_it_reports_an_unknown_execution(live):
    response = live.request("POST", "/executions/Rnothing:1:1/cancel")

    assert response.status_code == 404
    assert response.json()["error"] == "execution_not_found"


def test_it_reruns_a_step_in_its_own_workspace(live):
    run_id = live.submit()
    live.ok("POST", f"/executions/{run_id}:1:1/cancel")

    response = live.request("POST", f"/steps/{run_id}:1/rerun")

    assert response.status_code == 201
    assert response.json() == {
        "runId": run_id,
        "stepId": f"{run_id}:1",
        "executionId": f"{run_id}:1:2",
        "attempt": 2,
    }
    executions = live.executions(run_id)
    assert [(e["attempt"], e["state"]) for e in executions] == [(1, "cancelled"), (2, "queued")]
    assert executions[1]["workspace"] == live.workspace
    assert live.ok("GET", f"/runs/{run_id}/result")["status"] == "queued"


def test_a_rerun_cancels_the_steps_unfinished_execution(live):
    run_id = live.submit()

    rerun = live.ok("POST", f"/steps/{run_id}:1/rerun", {})

    assert rerun["attempt"] == 2
    states = [(e["attempt"], e["state"]) for e in live.executions(run_id)]
    assert states == [(1, "cancelled"), (2, "queued")]


def test_it_reruns_a_step_in_a_descendant_workspace(live):
    run_id = live.submit()
    child = f"{live.workspace}/child"
    live.ok("POST", "/workspaces", {"name": child, "base": live.workspace})

    rerun = live.ok("POST", f"/steps/{run_id}:1/rerun", {"workspace": child.upper()})

    assert rerun["attempt"] == 2
    executions = live.executions(run_id)
    assert executions[-1]["workspace"] == child
    # The execution in the base workspace is left alone: it is not in the re-run's workspace.
    assert executions[0]["state"] == "queued"


def test_it_refuses_a_rerun_in_a_workspace_outside_the_steps_tree(live):
    run_id = live.submit()
    elsewhere = f"{live.workspace}-elsewhere"
    live.ok("POST", "/workspaces", {"name": elsewhere})

    response = live.request("POST", f"/steps/{run_id}:1/rerun", {"workspace": elsewhere})

    assert response.status_code == 400
    assert response.json()["error"] == "workspace_invalid"
    assert len(live.executions(run_id)) == 1


def test_it_refuses_a_rerun_in_a_base_of_the_steps_workspace(live):
    parent = f"{live.workspace}-parent"
    live.ok("POST", "/workspaces", {"name": parent})
    live.ok("POST", "/workspaces", {"name": live.workspace, "base": parent})
    run_id = live.submit()

    response = live.request("POST", f"/steps/{run_id}:1/rerun", {"workspace": parent})

    assert response.status_code == 400
    assert response.json()["error"] == "workspace_invalid"


def test_it_reports_an_unknown_step(live):
    run_id = live.submit()

    response = live.request("POST", f"/steps/{run_id}:9/rerun")

    assert response.status_code == 404
    assert response.json()["error"] == "step_not_found"


def test_it_pauses_and_resumes_a_workspace_on_a_live_server(live):
    live.submit()

    assert live.ok("POST", f"/workspaces/{live.workspace}/pause")["state"] == "paused"
    listed = live.ok("GET", "/workspaces")["workspaces"]
    assert {"name": live.workspace, "base": None, "state": "paused"} in listed
    assert live.ok("POST", f"/workspaces/{live.workspace}/resume")["state"] == "active"
