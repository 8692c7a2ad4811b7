"""What a workspace's workers are and what its unfinished executions wait for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from projects.models import WorkerSession
from runs.models import Execution
from runs.submission import submit_run
from runs.values import from_plain_json
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

GREET = {"module": "app.flows", "name": "greet", "type": "workflow"}
BASE = "/api/projects/default/workspaces/default"


def session(workspace: Workspace, **fields) -> WorkerSession:
    defaults = {"targets": [GREET], "concurrency": 4, "connected": True}
    return WorkerSession.objects.create(
        project=workspace.project, workspace=workspace, **{**defaults, **fields}
    )


def queued(workspace: Workspace, **overrides) -> Execution:
    arguments = [from_plain_json("world")]
    return submit_run(workspace, "app.flows", "greet", arguments, overrides=overrides or None)


def statuses(api) -> dict[str, str]:
    response = api.get(f"{BASE}/queue")
    assert response.status_code == 200, response.content
    return {e["id"]: e["status"] for e in response.json()["executions"]}


def test_sessions_show_their_state_load_and_tags(api, registered):
    busy = session(registered, provides={"gpu": ["A100"]})
    draining = session(registered, draining=True)
    away = session(registered, connected=False)
    session(registered, expired_at=timezone.now())
    execution = queued(registered)
    Execution.objects.filter(id=execution.id).update(state="assigned", session=busy)

    listed = api.get(f"{BASE}/sessions").json()["sessions"]

    assert [(s["id"], s["state"], s["load"]) for s in listed] == [
        (busy.id, "connected", 1),
        (draining.id, "draining", 0),
        (away.id, "disconnected", 0),
    ]
    assert listed[0]["provides"] == {"gpu": ["A100"]}
    assert (listed[0]["concurrency"], listed[0]["targets"]) == (4, 1)


def test_the_queue_says_what_each_execution_waits_for(api, registered):
    nobody = queued(registered)
    later = queued(registered, delay_ms=60_000)
    needs_gpu = queued(registered, requires={"gpu": ["H100"]})
    assert statuses(api) == {
        nobody.id: "no session",
        later.id: "scheduled",
        needs_gpu.id: "no session",
    }

    worker = session(registered, provides={"gpu": ["A100"]})
    assigned = queued(registered)
    Execution.objects.filter(id=assigned.id).update(state="assigned", session=worker)
    assert statuses(api) == {
        nobody.id: "waiting",
        later.id: "scheduled",
        needs_gpu.id: "no session",
        assigned.id: "assigned",
    }
    assert api.get(f"{BASE}/queue").json()["executions"][-1]["sessionId"] == worker.id

    registered.state = Workspace.State.PAUSED
    registered.save()
    assert set(statuses(api).values()) == {"paused", "assigned"}


def test_finished_executions_leave_the_queue(api, registered):
    execution = queued(registered)
    Execution.objects.filter(id=execution.id).update(
        state="succeeded", completed_at=timezone.now() - timedelta(seconds=1)
    )
    assert statuses(api) == {}


def test_an_unknown_workspace_is_reported(api, registered):
    response = api.get("/api/projects/default/workspaces/nope/queue")
    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"
    assert api.get("/api/projects/default/workspaces/nope/sessions").status_code == 404
