from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from runs import submission
from runs.models import Execution, Run, Step
from runs.orchestration.bus import orchestrator_channel
from runs.values import from_plain_json
from workspaces.manifests import parse_manifests, register_manifests
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

URL = "/api/projects/default/workspaces/default/runs"
RUN_ID = re.compile(r"^R[bcdfghjkmnpqrstvwxz23456789]{6,}$")


def submit(api, *arguments, **fields):
    body = {"module": "app.flows", "target": "greet", "arguments": list(arguments), **fields}
    return api.post(URL, body)


def test_it_queues_a_run_of_a_registered_workflow(api, registered):
    response = submit(api, "world")

    assert response.status_code == 201
    ids = response.json()
    assert RUN_ID.match(ids["run_id"])
    assert ids["step_id"] == f"{ids['run_id']}:1"
    assert ids["execution_id"] == f"{ids['run_id']}:1:1"
    execution = Execution.objects.select_related("step__run").get(pk=ids["execution_id"])
    assert execution.state == "queued"
    assert execution.attempt == 1
    assert execution.workspace == registered
    assert execution.step.number == 1
    assert execution.step.target_type == "workflow"
    assert (execution.step.module, execution.step.target) == ("app.flows", "greet")
    assert execution.step.run.workspace == registered
    assert execution.step.run.project == registered.project


def test_it_stores_arguments_in_the_wire_format(api, registered):
    ids = submit(api, {"b": [1, {"c": None}], "a": True}, "!").json()

    step = Step.objects.get(pk=ids["step_id"])
    assert step.arguments == [
        {
            "type": "inline",
            "format": "json",
            "data": {
                "type": "dict",
                "items": ["a", True, "b", [1, {"type": "dict", "items": ["c", None]}]],
            },
            "refs": [],
        },
        {"type": "inline", "format": "json", "data": "!", "refs": []},
    ]


def test_it_gives_the_root_step_the_registered_options(api, workspace):
    definition = {"name": "later", "type": "workflow", "options": {"delay_ms": 60000}}
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [definition]}}))
    before = timezone.now()

    ids = api.post(URL, {"module": "app.flows", "target": "later"}).json()

    execution = Execution.objects.select_related("step").get(pk=ids["execution_id"])
    assert execution.step.options == {"delay_ms": 60000}
    assert execution.execute_after >= before + timedelta(seconds=60)


def test_it_wakes_the_orchestrator_once_the_run_is_committed(
    api, registered, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    async_to_sync(layer.flush)()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit(api, "world")

    assert len(callbacks) == 1
    message = async_to_sync(layer.receive)(orchestrator_channel(registered.project_id))
    assert message == {"type": "wake"}


def test_it_returns_the_existing_run_for_a_repeated_idempotency_key(api, registered):
    first = submit(api, "world", idempotency_key="k1")
    second = submit(api, "other", idempotency_key="k1")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert Run.objects.count() == 1


def test_it_scopes_idempotency_keys_to_the_workspace(api, registered, project):
    other = Workspace.objects.ensure(project, "other")
    register_manifests(
        other, parse_manifests({"modules": {"app.flows": [{"name": "greet", "type": "workflow"}]}})
    )
    first = submit(api, "world", idempotency_key="k1")

    second = api.post(
        "/api/projects/default/workspaces/other/runs",
        {"module": "app.flows", "target": "greet", "idempotency_key": "k1"},
    )

    assert second.status_code == 201
    assert second.json()["run_id"] != first.json()["run_id"]


def test_it_forgets_idempotency_keys_after_a_day(api, registered):
    first = submit(api, "world", idempotency_key="k1").json()
    Run.objects.filter(pk=first["run_id"]).update(created_at=timezone.now() - timedelta(hours=25))

    second = submit(api, "world", idempotency_key="k1")

    assert second.status_code == 201
    assert second.json()["run_id"] != first["run_id"]


def test_it_reports_an_unknown_target_naming_it(api, registered):
    response = api.post(URL, {"module": "app.flows", "target": "nope", "arguments": []})

    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "target_not_found"
    assert "'nope'" in body["message"] and "'app.flows'" in body["message"]
    assert body["details"] == {"module": "app.flows", "target": "nope"}
    assert not Run.objects.exists()


def test_it_does_not_run_workflows_of_archived_modules(api, registered):
    registered.modules.update(archived=True)

    response = submit(api, "world")

    assert response.status_code == 404
    assert response.json()["error"] == "target_not_found"


def test_it_creates_the_workspace_a_submission_names(api, registered, project):
    response = api.post(
        "/api/projects/default/workspaces/fresh/runs",
        {"module": "app.flows", "target": "greet", "arguments": ["x"]},
    )

    # The new workspace has no manifests yet, so nothing can run in it.
    assert response.status_code == 404
    assert response.json()["error"] == "target_not_found"
    assert Workspace.objects.live(project).filter(name="fresh").exists()


def test_it_reports_an_unknown_project(api, registered):
    response = api.post(
        "/api/projects/other/workspaces/default/runs", {"module": "app.flows", "target": "greet"}
    )

    assert response.status_code == 404
    assert response.json()["error"] == "project_not_found"


def test_it_rejects_an_invalid_workspace_name(api, registered):
    response = api.post(
        "/api/projects/default/workspaces/no spaces/runs",
        {"module": "app.flows", "target": "greet"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_workspace"


def test_it_rejects_too_many_arguments(api, registered):
    response = submit(api, "a", "b", "c")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_arguments"
    assert "takes 2 argument(s), 3 given" in response.json()["message"]


def test_it_rejects_a_missing_argument_without_default(api, registered):
    response = submit(api)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_arguments"
    assert "missing argument(s): name" in response.json()["message"]
    assert response.json()["details"] == {"missing": ["name"]}


def test_it_accepts_leaving_out_arguments_with_defaults(api, registered):
    assert submit(api, "world").status_code == 201


def test_it_rejects_arguments_that_are_not_a_list(api, registered):
    response = api.post(URL, {"module": "app.flows", "target": "greet", "arguments": {"a": 1}})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_arguments"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (["app.flows", "greet"], "object"),
        ({"target": "greet"}, "'module'"),
        ({"module": "app.flows", "target": ""}, "'target'"),
        ({"module": "app.flows", "target": "greet", "idempotency_key": 1}, "'idempotency_key'"),
        ({"module": "app.flows", "target": "greet", "colour": "red"}, "'colour'"),
    ],
)
def test_it_rejects_a_malformed_submission(api, registered, body, named):
    response = api.post(URL, body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert named in response.json()["message"]


def test_it_lengthens_run_ids_that_collide(registered, monkeypatch):
    picks = iter("b" * 6 + "b" * 6 + "c" * 7)
    randomness = SimpleNamespace(choice=lambda alphabet: next(picks))
    monkeypatch.setattr(submission, "secrets", randomness)
    args = [from_plain_json("x")]

    first = submission.submit_run(registered, "app.flows", "greet", args)
    second = submission.submit_run(registered, "app.flows", "greet", args)

    assert first.step.run_id == "Rbbbbbb"
    assert second.step.run_id == "Rccccccc"
