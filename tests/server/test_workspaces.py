from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from projects.mailbox import orchestrator_channel
from tests.server.messages import WAKE
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

URL = "/api/projects/default/workspaces"


def names(api) -> list[str]:
    return [w["name"] for w in api.get(URL).json()["workspaces"]]


def make(project, name: str, base: Workspace | None = None, **fields) -> Workspace:
    return Workspace.objects.create(project=project, name=name, base=base, **fields)


# --- list -----------------------------------------------------------------------------------


def test_it_lists_live_workspaces_with_base_and_state(api, workspace, project):
    make(project, "dev", base=workspace, state="paused")
    make(project, "old", state="archived")

    response = api.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "workspaces": [
            {"name": "default", "base": None, "state": "active"},
            {"name": "dev", "base": "default", "state": "paused"},
        ]
    }


def test_it_reports_an_unknown_project_when_listing(api, db):
    response = api.get("/api/projects/nowhere/workspaces")

    assert response.status_code == 404
    assert response.json()["error"] == "project_not_found"


# --- create ---------------------------------------------------------------------------------


def test_it_creates_a_workspace(api, project):
    response = api.post(URL, {"name": "staging"})

    assert response.status_code == 201
    assert response.json() == {"name": "staging", "base": None, "state": "active"}
    assert Workspace.objects.live(project).get(name="staging").base is None


def test_it_creates_a_workspace_on_a_base(api, workspace, project):
    response = api.post(URL, {"name": "dev/alice", "base": "default"})

    assert response.status_code == 201
    assert response.json() == {"name": "dev/alice", "base": "default", "state": "active"}
    assert Workspace.objects.get(name="dev/alice").base == workspace


def test_it_finds_the_base_whatever_its_case(api, workspace):
    response = api.post(URL, {"name": "dev", "base": "DEFAULT"})

    assert response.status_code == 201
    assert response.json()["base"] == "default"


def test_it_refuses_a_duplicate_name(api, workspace):
    response = api.post(URL, {"name": "default"})

    assert response.status_code == 409
    assert response.json()["error"] == "already_exists"
    assert "'default'" in response.json()["message"]


def test_it_refuses_a_name_that_differs_only_in_case(api, workspace):
    response = api.post(URL, {"name": "Default"})

    assert response.status_code == 409
    assert response.json()["error"] == "already_exists"


def test_it_allows_the_name_of_an_archived_workspace(api, project):
    make(project, "old", state="archived")

    assert api.post(URL, {"name": "old"}).status_code == 201


@pytest.mark.parametrize("name", ["no spaces", "", "a//b", "/a", "a/", "é", "x" * 201])
def test_it_refuses_an_invalid_name(api, project, name):
    response = api.post(URL, {"name": name})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_workspace"
    assert not Workspace.objects.exclude(name="default").exists()


def test_it_refuses_a_base_that_does_not_exist(api, project):
    response = api.post(URL, {"name": "dev", "base": "nothing"})

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"
    assert response.json()["message"] == "No base workspace named 'nothing'."
    assert not Workspace.objects.filter(name="dev").exists()


def test_it_refuses_an_empty_base_name(api, project):
    response = api.post(URL, {"name": "dev", "base": ""})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_workspace"


def test_it_refuses_an_archived_base(api, project):
    make(project, "old", state="archived")

    response = api.post(URL, {"name": "dev", "base": "old"})

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([], "object"),
        ({}, "'name'"),
        ({"base": "default"}, "'name'"),
        ({"name": 3}, "'name'"),
        ({"name": "dev", "base": 1}, "'base'"),
        ({"name": "dev", "colour": "red"}, "'colour'"),
    ],
)
def test_it_rejects_a_malformed_creation(api, project, body, named):
    response = api.post(URL, body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert named in response.json()["message"]


def test_it_rejects_malformed_json_when_creating(api, project):
    response = api.client.post(URL, "{nope", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


# --- update ---------------------------------------------------------------------------------


def test_it_renames_a_workspace(api, workspace, project, django_capture_on_commit_callbacks):
    make(project, "dev")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"{URL}/dev", {"name": "development"})

    assert response.status_code == 200
    assert response.json() == {"name": "development", "base": None, "state": "active"}
    assert names(api) == ["default", "development"]


def test_it_changes_only_the_case_of_a_name(api, project):
    make(project, "dev")

    response = api.patch(f"{URL}/dev", {"name": "Dev"})

    assert response.status_code == 200
    assert names(api) == ["Dev"]


def test_it_refuses_to_rename_onto_another_workspace(api, workspace, project):
    make(project, "dev")

    response = api.patch(f"{URL}/dev", {"name": "DEFAULT"})

    assert response.status_code == 409
    assert response.json()["error"] == "already_exists"


def test_it_refuses_an_invalid_new_name(api, project):
    make(project, "dev")

    response = api.patch(f"{URL}/dev", {"name": "no spaces"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_workspace"


def test_it_sets_changes_and_clears_the_base(api, workspace, project):
    make(project, "staging")
    make(project, "dev")

    assert api.patch(f"{URL}/dev", {"base": "default"}).json()["base"] == "default"
    assert api.patch(f"{URL}/dev", {"base": "staging"}).json()["base"] == "staging"
    assert api.patch(f"{URL}/dev", {"base": None}).json()["base"] is None
    assert Workspace.objects.get(name="dev").base is None


def test_it_renames_and_rebases_at_once(api, workspace, project):
    make(project, "dev")

    response = api.patch(f"{URL}/DEV", {"name": "dev2", "base": "default"})

    assert response.json() == {"name": "dev2", "base": "default", "state": "active"}


def test_it_refuses_a_workspace_as_its_own_base(api, project):
    make(project, "dev")

    response = api.patch(f"{URL}/dev", {"base": "dev"})

    assert response.status_code == 400
    assert response.json()["error"] == "cycle"
    assert response.json()["message"] == "Workspace 'dev' cannot be its own base."


def test_it_refuses_a_base_that_would_make_a_cycle(api, project):
    a = make(project, "a")
    b = make(project, "b", base=a)
    make(project, "c", base=b)

    response = api.patch(f"{URL}/a", {"base": "c"})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "cycle"
    assert body["message"] == (
        "Workspace 'a' cannot be based on 'c', which is itself based on 'a': "
        "that would make a cycle (a → c → b → a)."
    )
    assert body["details"] == {"cycle": ["a", "c", "b", "a"]}
    assert Workspace.objects.get(name="a").base is None


def test_it_allows_rebasing_within_a_tree_without_a_cycle(api, project):
    a = make(project, "a")
    make(project, "b", base=a)
    make(project, "c", base=a)

    assert api.patch(f"{URL}/c", {"base": "b"}).status_code == 200


def test_it_refuses_an_unknown_base_when_updating(api, project):
    make(project, "dev")

    response = api.patch(f"{URL}/dev", {"base": "nothing"})

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"


def test_it_reports_an_unknown_workspace_when_updating(api, project):
    response = api.patch(f"{URL}/nothing", {"name": "x"})

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"


def test_an_empty_update_changes_nothing(api, project):
    make(project, "dev")

    response = api.patch(f"{URL}/dev", {})

    assert response.status_code == 200
    assert response.json() == {"name": "dev", "base": None, "state": "active"}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([], "object"),
        ({"name": None}, "'name'"),
        ({"base": 3}, "'base'"),
        ({"state": "paused"}, "'state'"),
    ],
)
def test_it_rejects_a_malformed_update(api, project, body, named):
    make(project, "dev")

    response = api.patch(f"{URL}/dev", body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert named in response.json()["message"]


def test_it_updates_a_workspace_whose_name_ends_like_an_action(api, project):
    make(project, "team/pause")
    make(project, "team/runs")

    assert api.patch(f"{URL}/team/pause", {"name": "team/paused"}).status_code == 200
    assert api.patch(f"{URL}/team/runs", {"name": "team/ran"}).status_code == 200
    assert names(api) == ["team/paused", "team/ran"]


def test_it_wakes_the_orchestrator_after_a_rename(api, project, django_capture_on_commit_callbacks):
    make(project, "dev")
    layer = get_channel_layer()
    async_to_sync(layer.flush)()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api.patch(f"{URL}/dev", {"name": "dev2"})

    assert len(callbacks) == 1
    assert async_to_sync(layer.receive)(orchestrator_channel(project.pk)) == WAKE


# --- pause and resume -----------------------------------------------------------------------


def test_it_pauses_and_resumes_a_workspace(api, workspace):
    paused = api.post(f"{URL}/default/pause")

    assert paused.status_code == 200
    assert paused.json() == {"name": "default", "base": None, "state": "paused"}
    workspace.refresh_from_db()
    assert workspace.state == "paused"

    resumed = api.post(f"{URL}/Default/resume", {})

    assert resumed.json()["state"] == "active"
    workspace.refresh_from_db()
    assert workspace.state == "active"


def test_it_wakes_the_orchestrator_once_the_state_has_changed(
    api, workspace, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    async_to_sync(layer.flush)()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api.post(f"{URL}/default/pause")
    with django_capture_on_commit_callbacks(execute=True) as again:
        api.post(f"{URL}/default/pause")

    assert (len(callbacks), len(again)) == (1, 0)
    message = async_to_sync(layer.receive)(orchestrator_channel(workspace.project_id))
    assert message == WAKE


def test_it_reports_an_unknown_workspace_when_pausing(api, project):
    response = api.post(f"{URL}/nothing/pause")

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"
    assert not Workspace.objects.filter(name="nothing").exists()


def test_it_does_not_pause_an_archived_workspace(api, project):
    make(project, "old", state="archived")

    response = api.post(f"{URL}/old/resume")

    assert response.status_code == 404
    assert Workspace.objects.get(name="old").state == "archived"


def test_it_rejects_a_body_when_pausing(api, workspace):
    response = api.post(f"{URL}/default/pause", {"now": True})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_it_answers_a_wrong_method_on_pause_with_json(api, workspace):
    response = api.get(f"{URL}/default/pause")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


# --- names are case-insensitive everywhere --------------------------------------------------


def test_it_finds_workspaces_whatever_the_case_of_their_name(api, registered):
    response = api.get("/api/projects/default/workspaces/DeFault/manifests")

    assert response.status_code == 200
    assert "app.flows" in response.json()["modules"]


def test_it_submits_to_the_existing_workspace_whatever_the_case(api, registered, project):
    response = api.post(
        "/api/projects/default/workspaces/DEFAULT/runs",
        {"module": "app.flows", "target": "greet", "arguments": ["x"]},
    )

    assert response.status_code == 201
    assert Workspace.objects.filter(project=project).count() == 1


def test_the_database_refuses_names_that_differ_only_in_case(project):
    from django.db import IntegrityError, transaction

    make(project, "dev")

    with pytest.raises(IntegrityError), transaction.atomic():
        make(project, "DEV")
