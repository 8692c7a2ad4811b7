"""Archiving workspaces through the API of a real server and its orchestrator.

No worker is connected, so submitted runs stay queued. Every test works in workspaces of its
own, since the session's server is shared. Workers of an archived workspace are in
``tests/e2e/test_caching.py``.
"""

from __future__ import annotations

import pytest

from tests.server.test_cancel_and_rerun_live import Live


@pytest.fixture
def live(live_server_url: str) -> Live:
    live = Live(live_server_url)
    yield live
    live.http.close()


def test_archiving_cancels_the_workspaces_queued_work(live):
    run_id = live.submit()

    archived = live.ok("POST", f"/workspaces/{live.workspace}/archive")

    assert (archived["name"], archived["state"]) == (live.workspace, "archived")
    assert archived["cancelled"] == [f"{run_id}:1:1"]
    assert live.ok("GET", f"/runs/{run_id}/result")["status"] == "cancelled"
    listed = [w["name"] for w in live.ok("GET", "/workspaces")["workspaces"]]
    assert live.workspace not in listed


def test_an_archived_workspaces_name_can_be_used_again(live):
    old_run = live.submit()
    live.ok("POST", f"/workspaces/{live.workspace}/archive")

    new_run = live.submit()

    assert live.ok("GET", f"/runs/{new_run}")["steps"][0]["executions"][0]["state"] == "queued"
    assert live.ok("GET", f"/runs/{old_run}/result")["status"] == "cancelled"
    listed = live.ok("GET", "/workspaces")["workspaces"]
    assert {"name": live.workspace, "base": None, "state": "active"} in listed


def test_archiving_is_refused_while_a_live_workspace_is_based_on_it(live):
    run_id = live.submit()
    child = f"{live.workspace}/child"
    live.ok("POST", "/workspaces", {"name": child, "base": live.workspace})

    refused = live.request("POST", f"/workspaces/{live.workspace}/archive")

    assert refused.status_code == 409
    assert refused.json()["error"] == "workspace_has_children"
    assert live.executions(run_id)[0]["state"] == "queued"
    live.ok("POST", f"/workspaces/{child}/archive")
    assert live.ok("POST", f"/workspaces/{live.workspace}/archive")["state"] == "archived"


def test_archiving_an_unknown_workspace_is_reported(live):
    response = live.request("POST", f"/workspaces/{live.workspace}-nothing/archive")

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"
