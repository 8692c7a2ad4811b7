"""Recording and reading assets over the API (SPEC §2.3; the files are blobs already)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from assets.models import Asset
from runs.submission import submit_run
from runs.values import from_plain_json

pytestmark = pytest.mark.django_db

KEY_A = "a" * 64
KEY_B = "b" * 64
ASSETS = "/api/projects/default/assets"


def entry(key: str = KEY_A, size: int = 3, **metadata: str) -> dict:
    return {"blobKey": key, "size": size, "metadata": metadata}


def test_it_records_an_asset_and_shows_its_entries_by_path(api, registered):
    execution = submit_run(registered, "app.flows", "greet", [from_plain_json("x")])
    response = api.post(
        ASSETS,
        {
            "name": "reports",
            "executionId": execution.id,
            "entries": {
                "b/two.csv": entry(KEY_B, 5, type="text/csv"),
                "a.txt": entry(KEY_A, 3, type="text/plain"),
            },
        },
    )

    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["id"].startswith("A")
    assert created["name"] == "reports"
    assert created["executionId"] == execution.id
    assert (created["count"], created["size"]) == (2, 8)
    assert created["entries"] == [
        {"path": "a.txt", "blobKey": KEY_A, "size": 3, "metadata": {"type": "text/plain"}},
        {"path": "b/two.csv", "blobKey": KEY_B, "size": 5, "metadata": {"type": "text/csv"}},
    ]
    assert api.get(f"{ASSETS}/{created['id']}").json() == created


def test_name_and_execution_are_optional(api, project):
    response = api.post(ASSETS, {"entries": {"x": entry()}})
    assert response.status_code == 201
    assert response.json()["name"] is None
    assert response.json()["executionId"] is None


def test_a_missing_asset_is_not_found(api, project):
    response = api.get(f"{ASSETS}/Anothere")
    assert response.status_code == 404
    assert response.json()["error"] == "asset_not_found"


def test_an_unknown_execution_is_not_found(api, project):
    response = api.post(ASSETS, {"executionId": "Rxxxx:1:1", "entries": {"x": entry()}})
    assert response.status_code == 404
    assert response.json()["error"] == "execution_not_found"
    assert response.json()["details"] == {"execution": "Rxxxx:1:1"}
    assert not Asset.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["", "/etc/passwd", "../up", "a/../../up", "a//b", "./a", "a/.", "a\\b", "x" * 1025],
)
def test_it_refuses_paths_that_could_leave_the_restore_directory(api, project, path):
    response = api.post(ASSETS, {"entries": {path: entry()}})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not Asset.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"entries": {}},
        {"entries": []},
        {"entries": {"x": {"blobKey": "A" * 64, "size": 1}}},
        {"entries": {"x": {"blobKey": "a" * 63, "size": 1}}},
        {"entries": {"x": {"blobKey": KEY_A, "size": -1}}},
        {"entries": {"x": {"blobKey": KEY_A, "size": 1.5}}},
        {"entries": {"x": {"blobKey": KEY_A}}},
        {"entries": {"x": {"blobKey": KEY_A, "size": 1, "metadata": "text"}}},
        {"entries": {"x": {"blobKey": KEY_A, "size": 1, "extra": 1}}},
        {"entries": {"x": entry()}, "name": 3},
        {"entries": {"x": entry()}, "executionId": 3},
        {"entries": {"x": entry()}, "owner": "me"},
    ],
)
def test_it_refuses_malformed_assets(api, project, body):
    response = api.post(ASSETS, body)
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "invalid_request"


def test_assets_of_another_project_are_not_found(api, project):
    created = api.post(ASSETS, {"entries": {"x": entry()}}).json()
    from projects.models import Project

    Project.objects.ensure("other")
    assert api.get(f"/api/projects/other/assets/{created['id']}").status_code == 404


def test_the_admin_shows_an_asset_with_its_entries(admin_client, api, project):
    created = api.post(ASSETS, {"name": "n", "entries": {"dir/file.bin": entry()}}).json()
    for model in (Asset, Asset.entries.rel.related_model):
        assert model in admin.site._registry
    page = admin_client.get(reverse("admin:assets_asset_change", args=[created["id"]]))
    assert page.status_code == 200
    assert b"dir/file.bin" in page.content
