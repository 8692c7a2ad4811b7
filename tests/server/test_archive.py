"""Archiving workspaces (API and admin) and modules (API).

Archiving a workspace is a command to the orchestrator; here the call is replaced by one that
records the command and does what the orchestrator would to the database. The orchestrator's
side is tested against a real server in ``test_archive_live.py`` and end to end in
``tests/e2e/test_caching.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from projects.errors import Code, DomainError
from tests.sample_targets import GREET
from workspaces import actions
from workspaces.manifests import parse_manifests, register_manifests
from workspaces.models import Module, Workspace

pytestmark = pytest.mark.django_db

URL = "/api/projects/default/workspaces"


class FakeOrchestrator:
    def __init__(self) -> None:
        self.commands: list[tuple[int, dict[str, Any]]] = []
        self.reply: dict[str, Any] | Exception = {"ok": True, "cancelled": [], "sessions": []}

    def __call__(self, project_id: int, command: dict[str, Any]) -> dict[str, Any]:
        self.commands.append((project_id, command))
        if isinstance(self.reply, Exception):
            raise self.reply
        Workspace.objects.live(project_id).filter(name__iexact=command["workspace"]).update(
            state=Workspace.State.ARCHIVED
        )
        return self.reply


@pytest.fixture
def orchestrator(monkeypatch: pytest.MonkeyPatch) -> FakeOrchestrator:
    fake = FakeOrchestrator()
    monkeypatch.setattr(actions, "call_orchestrator", fake)
    return fake


def make(project, name: str, base: Workspace | None = None, **fields) -> Workspace:
    return Workspace.objects.create(project=project, name=name, base=base, **fields)


# --- archiving a workspace through the API ---------------------------------------------------


def test_it_archives_a_workspace_through_the_orchestrator(api, orchestrator, workspace, project):
    make(project, "dev", base=workspace)
    orchestrator.reply = {"ok": True, "cancelled": ["Rabc:1:1"], "sessions": ["s1"]}

    response = api.post(f"{URL}/Dev/archive")

    assert response.status_code == 200
    assert response.json() == {
        "name": "dev",
        "base": "default",
        "state": "archived",
        "cancelled": ["Rabc:1:1"],
        "sessions": ["s1"],
    }
    assert orchestrator.commands == [(project.pk, {"type": "archive", "workspace": "dev"})]
    assert [w["name"] for w in api.get(URL).json()["workspaces"]] == ["default"]


def test_the_name_of_an_archived_workspace_can_be_used_again(api, orchestrator, project):
    make(project, "dev")
    api.post(f"{URL}/dev/archive")

    response = api.post(URL, {"name": "dev"})

    assert response.status_code == 201
    assert Workspace.objects.filter(name="dev").count() == 2
    assert api.get(f"{URL}/dev/manifests").status_code == 200


def test_it_refuses_a_workspace_with_live_children(api, orchestrator, workspace, project):
    make(project, "dev", base=workspace)
    make(project, "old", base=workspace, state="archived")

    response = api.post(f"{URL}/default/archive")

    assert response.status_code == 409
    assert response.json()["error"] == "workspace_has_children"
    assert response.json()["details"] == {"workspace": "default", "children": ["dev"]}
    assert "dev" in response.json()["message"]
    assert orchestrator.commands == []


def test_it_reports_the_orchestrators_refusal_as_a_conflict(api, orchestrator, project):
    make(project, "dev")
    orchestrator.reply = DomainError("A child appeared.", code=Code.WORKSPACE_HAS_CHILDREN)

    response = api.post(f"{URL}/dev/archive")

    assert response.status_code == 409
    assert response.json()["error"] == "workspace_has_children"


@pytest.mark.parametrize("name", ["nothing", "old"])
def test_it_reports_an_unknown_or_archived_workspace(api, orchestrator, project, name):
    make(project, "old", state="archived")

    response = api.post(f"{URL}/{name}/archive")

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"
    assert orchestrator.commands == []


def test_it_takes_no_body_fields(api, orchestrator, workspace):
    response = api.post(f"{URL}/default/archive", {"force": True})

    assert response.status_code == 400
    assert orchestrator.commands == []


def test_a_patch_renames_the_workspace_named_like_the_action(api, orchestrator, project):
    make(project, "a/archive")

    response = api.patch(f"{URL}/a/archive", {"name": "b"})

    assert response.status_code == 200
    assert response.json()["name"] == "b"
    assert orchestrator.commands == []


# --- the admin action ------------------------------------------------------------------------


def test_the_admin_archives_the_selected_workspaces_children_first(
    admin_client, orchestrator, workspace, project
):
    child = make(project, "child", base=workspace)
    url = reverse("admin:workspaces_workspace_changelist")

    response = admin_client.post(
        url, {"action": "archive", "_selected_action": [workspace.pk, child.pk]}, follow=True
    )

    assert response.status_code == 200
    assert [command["workspace"] for _, command in orchestrator.commands] == ["child", "default"]
    assert set(Workspace.objects.values_list("state", flat=True)) == {"archived"}
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("Archived workspace child" in message for message in shown)


def test_the_admin_reports_a_workspace_it_could_not_archive(
    admin_client, orchestrator, workspace, project
):
    make(project, "child", base=workspace)
    url = reverse("admin:workspaces_workspace_changelist")

    response = admin_client.post(
        url, {"action": "archive", "_selected_action": [workspace.pk]}, follow=True
    )

    assert orchestrator.commands == []
    assert Workspace.objects.get(pk=workspace.pk).state == "active"
    assert "cannot be archived while workspaces are based on it: child" in response.content.decode()


# --- archiving a module ----------------------------------------------------------------------


def test_it_archives_a_module_until_it_is_registered_again(api, workspace):
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [GREET]}}))

    response = api.post(f"{URL}/default/manifests/app.flows/archive")

    assert response.status_code == 200
    assert response.json() == {"workspace": "default", "module": "app.flows", "archived": True}
    assert api.get(f"{URL}/default/manifests").json() == {"modules": {}}
    submitted = api.post(
        f"{URL}/default/runs", {"module": "app.flows", "target": "greet", "arguments": ["x"]}
    )
    assert submitted.status_code == 404
    api.post(f"{URL}/default/manifests", {"modules": {"app.flows": [GREET]}})
    assert list(api.get(f"{URL}/default/manifests").json()["modules"]) == ["app.flows"]


def test_archiving_an_archived_module_changes_nothing(api, workspace):
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [GREET]}}))
    api.post(f"{URL}/default/manifests/app.flows/archive")

    response = api.post(f"{URL}/default/manifests/app.flows/archive")

    assert response.status_code == 200
    assert Module.objects.get().archived is True


def test_it_reports_an_unknown_module(api, workspace):
    response = api.post(f"{URL}/default/manifests/app.nothing/archive")

    assert response.status_code == 404
    assert response.json()["error"] == "module_not_found"


def test_it_archives_a_module_of_a_workspace_whose_name_has_slashes(api, project):
    team = make(project, "team/dev")
    register_manifests(team, parse_manifests({"modules": {"app.flows": [GREET]}}))

    response = api.post(f"{URL}/team/dev/manifests/app.flows/archive")

    assert response.status_code == 200
    assert Module.objects.get(workspace=team).archived is True
