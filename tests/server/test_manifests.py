from __future__ import annotations

import pytest

from tests.sample_targets import GREET
from workspaces.models import Module, Workspace

pytestmark = pytest.mark.django_db

URL = "/api/projects/default/workspaces/default/manifests"


def workflow(name: str, **fields):
    return {**GREET, "name": name, **fields}


def test_it_registers_workflows_and_lists_them(api, project):
    response = api.post(URL, {"modules": {"app.flows": [GREET]}})

    assert response.status_code == 200
    assert response.json() == {"modules": ["app.flows"]}
    assert api.get(URL).json() == {"modules": {"app.flows": [GREET]}}


def test_it_replaces_a_modules_workflows_and_leaves_other_modules_alone(api, project):
    api.post(URL, {"modules": {"app.flows": [GREET, workflow("old")], "app.other": [GREET]}})

    api.post(URL, {"modules": {"app.flows": [workflow("new")]}})

    modules = api.get(URL).json()["modules"]
    assert [w["name"] for w in modules["app.flows"]] == ["new"]
    assert [w["name"] for w in modules["app.other"]] == ["greet"]


def test_it_keeps_the_order_workflows_were_listed_in(api, project):
    api.post(URL, {"modules": {"app.flows": [workflow("b"), workflow("a"), workflow("c")]}})

    assert [w["name"] for w in api.get(URL).json()["modules"]["app.flows"]] == ["b", "a", "c"]


def test_it_fills_in_optional_fields(api, project):
    api.post(URL, {"modules": {"app.flows": [{"name": "bare", "type": "workflow"}]}})

    assert api.get(URL).json()["modules"]["app.flows"] == [
        {"name": "bare", "type": "workflow", "parameters": [], "instruction": None, "options": {}}
    ]


def test_it_hides_archived_modules_until_registered_again(api, workspace):
    api.post(URL, {"modules": {"app.flows": [GREET]}})
    Module.objects.filter(name="app.flows").update(archived=True)

    assert api.get(URL).json() == {"modules": {}}

    api.post(URL, {"modules": {"app.flows": [GREET]}})
    assert list(api.get(URL).json()["modules"]) == ["app.flows"]


def test_it_creates_the_workspace_a_registration_names(api, project):
    response = api.post(
        "/api/projects/default/workspaces/team/dev/manifests", {"modules": {"m": [GREET]}}
    )

    assert response.status_code == 200
    assert Workspace.objects.live(project).filter(name="team/dev").exists()
    listed = api.get("/api/projects/default/workspaces/team/dev/manifests").json()
    assert listed == {"modules": {"m": [GREET]}}


def test_it_reports_an_unknown_workspace_when_reading(api, project):
    response = api.get("/api/projects/default/workspaces/missing/manifests")

    assert response.status_code == 404
    assert response.json()["error"] == "workspace_not_found"
    assert not Workspace.objects.filter(name="missing").exists()


@pytest.mark.parametrize("name", ["Bad Name", "a//b", "/a", "a/", "dots.not.allowed"])
def test_it_rejects_invalid_workspace_names(api, project, name):
    response = api.post(f"/api/projects/default/workspaces/{name}/manifests", {"modules": {}})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_workspace"


def test_it_reports_an_unknown_project(api, db):
    response = api.post("/api/projects/nope/workspaces/default/manifests", {"modules": {}})

    assert response.status_code == 404
    assert response.json()["error"] == "project_not_found"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([], "body"),
        ({}, "'modules'"),
        ({"modules": [], "extra": 1}, "'extra'"),
        ({"modules": {"m": {}}}, "modules['m']"),
        ({"modules": {"m": ["greet"]}}, "modules['m'][0]"),
        ({"modules": {"m": [{"type": "workflow"}]}}, "modules['m'][0]['name']"),
        ({"modules": {"m": [workflow("a/b")]}}, "[0]['name']"),
        ({"modules": {"m": [workflow("t", type="task")]}}, "[0]['type']"),
        ({"modules": {"m": [workflow("t", parameters={})]}}, "[0]['parameters']'"),
        (
            {"modules": {"m": [workflow("t", parameters=[{"annotation": "int"}])]}},
            "['parameters'][0]['name']",
        ),
        ({"modules": {"m": [workflow("t", parameters=[{"name": "x", "default": 3}])]}}, "default"),
        ({"modules": {"m": [workflow("t", instruction=3)]}}, "[0]['instruction']"),
        ({"modules": {"m": [workflow("t", options=[])]}}, "[0]['options']'"),
        ({"modules": {"m": [workflow("t", colour="red")]}}, "'colour'"),
        ({"modules": {"m": [GREET, GREET]}}, "'greet' more than once"),
    ],
)
def test_it_rejects_a_malformed_manifest_naming_the_bad_field(api, project, body, named):
    response = api.post(URL, body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_manifest"
    assert named in response.json()["message"]
    assert not Module.objects.exists()
