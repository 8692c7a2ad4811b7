from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from projects.models import WorkerSession
from runs.models import Dependency, LogMessage, Result, Step
from runs.submission import submit_run
from runs.values import from_plain_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_data(registered):
    root = submit_run(registered, "app.flows", "greet", [from_plain_json("world")])
    child = Step.objects.create(
        id=f"{root.step.run_id}:2",
        run_id=root.step.run_id,
        number=2,
        module="app.tasks",
        target="child",
        target_type="task",
        parent=root,
    )
    execution = child.executions.create(
        id=f"{child.id}:1", attempt=1, workspace=registered, state="failed"
    )
    Result.objects.create(execution=execution, type="error", error_type="E", error_message="m")
    Dependency.objects.create(execution=root, dependency=execution)
    LogMessage.objects.create(execution=root, timestamp=root.created_at, level=2, template="hi")
    WorkerSession.objects.create(project=registered.project, workspace=registered)
    return root


def test_every_model_has_a_changelist(admin_client, run_data):
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")

        response = admin_client.get(url)

        assert response.status_code == 200, url


def test_it_searches_and_filters_executions(admin_client, run_data):
    url = reverse("admin:runs_execution_changelist")

    response = admin_client.get(url, {"q": "greet", "state": "queued"})

    assert response.status_code == 200
    assert run_data.id in response.content.decode()


@pytest.mark.parametrize(
    ("name", "pk"),
    [
        ("runs_run", lambda root: root.step.run_id),
        ("runs_step", lambda root: root.step_id),
        ("runs_execution", lambda root: root.id),
        ("workspaces_module", lambda root: root.workspace.modules.get().pk),
        ("workspaces_workspace", lambda root: root.workspace_id),
        ("projects_project", lambda root: root.workspace.project_id),
    ],
)
def test_object_pages_render_with_their_inlines(admin_client, run_data, name, pk):
    response = admin_client.get(reverse(f"admin:{name}_change", args=[pk(run_data)]))

    assert response.status_code == 200


def test_orchestrator_rows_cannot_be_added_by_hand(admin_client, run_data):
    assert admin_client.get(reverse("admin:runs_execution_add")).status_code == 403


def test_the_workspace_form_refuses_a_base_that_makes_a_cycle(admin_client, workspace):
    from workspaces.models import Workspace

    child = Workspace.objects.create(project=workspace.project, name="child", base=workspace)
    url = reverse("admin:workspaces_workspace_change", args=[workspace.pk])
    response = admin_client.post(
        url, {"project": workspace.project.pk, "name": workspace.name, "base": child.pk}
    )
    assert response.status_code == 200
    assert "cycle" in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.base is None


def test_workspaces_are_paused_and_resumed_through_admin_actions(admin_client, workspace):
    url = reverse("admin:workspaces_workspace_changelist")
    for action, state in (("pause", "paused"), ("resume", "active")):
        admin_client.post(url, {"action": action, "_selected_action": [workspace.pk]})
        workspace.refresh_from_db()
        assert workspace.state == state
