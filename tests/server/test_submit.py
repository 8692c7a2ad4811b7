from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.utils import timezone

from projects.mailbox import orchestrator_channel
from projects.principals import super_principal
from projects.tokens import create_token
from runs import identifiers, submission
from runs.models import Execution, Run, Step
from runs.values import from_plain_json
from tests.server.conftest import Api
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
    assert RUN_ID.match(ids["runId"])
    assert ids["stepId"] == f"{ids['runId']}:1"
    assert ids["executionId"] == f"{ids['runId']}:1:1"
    execution = Execution.objects.select_related("step__run").get(pk=ids["executionId"])
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

    step = Step.objects.get(pk=ids["stepId"])
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

    execution = Execution.objects.select_related("step").get(pk=ids["executionId"])
    assert execution.step.options == {"delay_ms": 60000}
    assert execution.execute_after >= before + timedelta(seconds=60)


def test_a_submission_that_waits_answers_with_the_outcome_as_it_stands(api, registered):
    body = {"module": "app.flows", "target": "greet", "arguments": ["world"]}
    response = api.post(f"{URL}?wait=0.05", body)
    assert response.status_code == 201
    answer = response.json()
    # No orchestrator runs here: the run is still queued when the wait is up.
    assert Execution.objects.filter(pk=answer["executionId"]).exists()
    assert (answer["status"], answer["result"]) == ("queued", None)


def test_it_wakes_the_orchestrator_once_the_run_is_committed(
    api, registered, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    async_to_sync(layer.flush)()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = submit(api, "world").json()

    assert len(callbacks) == 1
    message = async_to_sync(layer.receive)(orchestrator_channel(registered.project_id))
    wake = {"kind": "wake", "executions": [ids["executionId"]]}
    assert message == {"type": "envelopes", "envelopes": [wake]}


def test_it_returns_the_existing_run_for_a_repeated_idempotency_key(api, registered):
    first = submit(api, "world", idempotencyKey="k1")
    second = submit(api, "other", idempotencyKey="k1")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert Run.objects.count() == 1


def test_it_scopes_idempotency_keys_to_the_workspace(api, registered, project):
    other = Workspace.objects.ensure(project, "other")
    register_manifests(
        other, parse_manifests({"modules": {"app.flows": [{"name": "greet", "type": "workflow"}]}})
    )
    first = submit(api, "world", idempotencyKey="k1")

    second = api.post(
        "/api/projects/default/workspaces/other/runs",
        {"module": "app.flows", "target": "greet", "idempotencyKey": "k1"},
    )

    assert second.status_code == 201
    assert second.json()["runId"] != first.json()["runId"]


def test_it_forgets_idempotency_keys_after_a_day(api, registered):
    first = submit(api, "world", idempotencyKey="k1").json()
    Run.objects.filter(pk=first["runId"]).update(created_at=timezone.now() - timedelta(hours=25))

    second = submit(api, "world", idempotencyKey="k1")

    assert second.status_code == 201
    assert second.json()["runId"] != first["runId"]


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
    assert response.json()["error"] == "invalid_request"
    assert list(response.json()["details"]) == ["arguments"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (["app.flows", "greet"], "object"),
        ({"target": "greet"}, "'module'"),
        ({"module": "app.flows", "target": ""}, "'target'"),
        ({"module": "app.flows", "target": "greet", "idempotencyKey": 1}, "'idempotencyKey'"),
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
    monkeypatch.setattr(identifiers, "secrets", randomness)
    args = [from_plain_json("x")]

    first = submission.submit_run(registered, "app.flows", "greet", args)
    second = submission.submit_run(registered, "app.flows", "greet", args)

    assert first.step.run_id == "Rbbbbbb"
    assert second.step.run_id == "Rccccccc"


# --- options overridden for the run ---------------------------------------------------------

RETRYING = {
    "name": "flaky",
    "type": "workflow",
    "options": {
        "delay_ms": 0,
        "retries": {"limit": None, "backoff_min_ms": 1000, "backoff_max_ms": 60000},
        "requires": {"gpu": ["A100"]},
        "memo": None,
        "timeout_ms": 5000,
    },
}


@pytest.fixture
def flaky(workspace: Workspace) -> Workspace:
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [RETRYING]}}))
    return workspace


def submit_flaky(api, **fields):
    return api.post(URL, {"module": "app.flows", "target": "flaky", **fields})


def root_options(response) -> dict:
    assert response.status_code == 201, response.json()
    return Step.objects.get(pk=response.json()["stepId"]).options


def test_it_keeps_the_registered_options_without_overrides(api, flaky):
    assert root_options(submit_flaky(api)) == RETRYING["options"]


def test_it_overrides_the_options_of_the_root_step(api, flaky):
    options = root_options(
        submit_flaky(api, delay=1.5, retries=3, requires={"region": ["eu", "us"]}, memo=True)
    )

    assert options == {
        "delay_ms": 1500,
        "retries": {"limit": 3, "backoff_min_ms": 0, "backoff_max_ms": 0},
        "requires": {"region": ["eu", "us"]},
        "memo": True,
        "timeout_ms": 5000,
    }


def test_it_delays_the_root_execution(api, flaky):
    before = timezone.now()

    ids = submit_flaky(api, delay=30).json()

    execution = Execution.objects.get(pk=ids["executionId"])
    assert before + timedelta(seconds=30) <= execution.execute_after
    assert execution.execute_after <= timezone.now() + timedelta(seconds=30)


def test_it_removes_a_registered_delay_with_a_delay_of_zero(api, workspace):
    definition = {"name": "later", "type": "workflow", "options": {"delay_ms": 60000}}
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [definition]}}))

    ids = api.post(URL, {"module": "app.flows", "target": "later", "delay": 0}).json()

    execution = Execution.objects.select_related("step").get(pk=ids["executionId"])
    assert execution.step.options == {"delay_ms": 0}
    assert execution.execute_after is None


def test_it_turns_retries_off_with_zero(api, flaky):
    assert root_options(submit_flaky(api, retries=0))["retries"] is None


def test_it_clears_the_requires_with_null(api, flaky):
    assert root_options(submit_flaky(api, requires=None))["requires"] is None


def test_it_replaces_the_requires_as_a_whole(api, flaky):
    options = root_options(submit_flaky(api, requires={"fast": ["true"]}))

    assert options["requires"] == {"fast": ["true"]}


def test_it_turns_memo_off(api, flaky):
    assert root_options(submit_flaky(api, memo=False))["memo"] is False


def test_it_ignores_overrides_when_the_idempotency_key_returns_a_run(api, flaky):
    first = submit_flaky(api, idempotencyKey="k", retries=2).json()

    again = submit_flaky(api, idempotencyKey="k", retries=5)

    assert again.status_code == 200
    assert again.json() == first
    assert Step.objects.get(pk=first["stepId"]).options["retries"]["limit"] == 2


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"delay": -1}, "'delay'"),
        ({"delay": "5"}, "'delay'"),
        ({"delay": True}, "'delay'"),
        ({"delay": None}, "'delay'"),
        ({"delay": 10**12}, "'delay'"),
        ({"retries": -1}, "'retries'"),
        ({"retries": 1.5}, "'retries'"),
        ({"retries": 2.0}, "'retries'"),
        ({"retries": True}, "'retries'"),
        ({"retries": None}, "'retries'"),
        ({"retries": 10**6}, "'retries'"),
        ({"requires": ["gpu"]}, "'requires'"),
        ({"requires": "gpu:A100"}, "'requires'"),
        ({"requires": {"gpu": "A100"}}, "requires['gpu']"),
        ({"requires": {"gpu": [1]}}, "requires['gpu']"),
        ({"requires": {"gpu": [""]}}, "requires['gpu']"),
        ({"requires": {"": ["x"]}}, "''"),
        ({"memo": "yes"}, "'memo'"),
        ({"memo": None}, "'memo'"),
        ({"memo": 1}, "'memo'"),
    ],
)
def test_it_rejects_malformed_overrides(api, flaky, fields, named):
    response = submit_flaky(api, **fields)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert named in response.json()["message"]
    assert not Run.objects.exists()


def test_it_refuses_to_override_other_options(flaky):
    workflow = submission.find_workflow(flaky, "app.flows", "flaky")

    with pytest.raises(ValueError, match="timeout_ms"):
        submission.root_options(workflow, {"timeout_ms": 1})


def test_the_run_names_who_submitted_it(api, registered):
    run_id = submit(api, "world").json()["runId"]
    assert api.get(f"/api/projects/default/runs/{run_id}").json()["createdBy"] == "super token"

    token, secret = create_token(super_principal(), registered.project, "ci", ["default"])
    as_token = Api(Client(headers={"Authorization": f"Bearer {secret}"}))
    run_id = submit(as_token, "world").json()["runId"]
    created_by = Run.objects.get(pk=run_id).created_by
    assert created_by == f"token {token.id} (ci)"
    assert api.get(f"/api/projects/default/runs/{run_id}").json()["createdBy"] == created_by
