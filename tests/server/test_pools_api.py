"""The pools API: create, list, get, update, delete, enable, disable, launches, export, import."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from projects.mailbox import orchestrator_channel
from projects.models import WorkerSession
from tests.server.messages import WAKE
from workspaces.models import Launch, Pool

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("launchers"),
]

URL = "/api/projects/default/workspaces/default/pools"


@pytest.fixture
def launchers(settings):
    settings.COFLUX_LAUNCHER_TYPES = ["process", "docker", "kubernetes"]


def create(api, name="local", pool_type="process", **body):
    return api.post(URL, {"name": name, "type": pool_type, **body})


# --- create, list, get ------------------------------------------------------------------------


def test_it_creates_and_lists_a_pool(api, workspace):
    response = create(
        api,
        modules=["app.flows", "app.more"],
        provides={"gpu": ["A100"]},
        accepts={"tier": ["batch"]},
        fields={"directory": "/srv/app", "concurrency": "4", "env.MODE": "test"},
    )

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("name", "type", "state", "modules", "provides", "accepts")} == {
        "name": "local",
        "type": "process",
        "state": "active",
        "modules": ["app.flows", "app.more"],
        "provides": {"gpu": ["A100"]},
        "accepts": {"tier": ["batch"]},
    }
    assert body["fields"] == {"directory": "/srv/app", "concurrency": 4, "env": {"MODE": "test"}}
    assert [p["name"] for p in api.get(URL).json()["pools"]] == ["local"]


def test_get_echoes_the_type_and_its_fields(api, workspace):
    create(
        api,
        fields={
            "directory": "/srv/app",
            "adapter": "uv,run,coflux",
            "concurrency": 2,
            "env": {"A": "1", "B": "2"},
            "serverHost": "example:7777",
            "serverSecure": "false",
        },
    )

    body = api.get(f"{URL}/local").json()

    assert body["type"] == "process"
    assert body["fields"] == {
        "directory": "/srv/app",
        "adapter": ["uv", "run", "coflux"],
        "concurrency": 2,
        "env": {"A": "1", "B": "2"},
        "serverHost": "example:7777",
        "serverSecure": False,
    }


def test_it_never_shows_a_secret_field(api, workspace):
    create(api, "k8s", "kubernetes", fields={"image": "app:1", "token": "s3cret"})

    assert api.get(f"{URL}/k8s").json()["fields"]["token"] == "********"
    assert Pool.objects.get(name="k8s").config["token"] == "s3cret"
    assert "token" not in api.get(f"{URL}/export").json()["pools"]["k8s"]["fields"]


def test_it_refuses_a_second_pool_of_the_same_name(api, workspace):
    create(api)

    response = create(api)

    assert response.status_code == 409
    assert response.json()["error"] == "already_exists"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "type": "nope"}, None),
        ({"name": "bad name", "type": "process"}, None),
        ({"name": "export", "type": "process"}, None),
        ({"name": "x", "type": "docker"}, "image"),
        ({"name": "x", "type": "process", "fields": {"image": "a"}}, "image"),
        ({"name": "x", "type": "process", "fields": {"concurrency": "many"}}, "concurrency"),
        ({"name": "x", "type": "process", "fields": {"env.1BAD": "v"}}, "env.1BAD"),
        ({"name": "x", "type": "process", "provides": {"gpu": "A100"}}, None),
        ({"name": "x", "type": "process", "colour": "red"}, None),
    ],
)
def test_it_refuses_what_does_not_fit(api, workspace, body, field):
    response = api.post(URL, body)

    assert response.status_code == 400, response.json()
    if field:
        assert response.json()["details"]["field"] == field
    assert not Pool.objects.exists()


def test_it_refuses_a_type_the_server_does_not_launch(api, workspace, settings):
    settings.COFLUX_LAUNCHER_TYPES = ["docker"]

    response = create(api)

    assert response.status_code == 400
    assert "COFLUX_LAUNCHER_TYPES" in response.json()["message"]


# --- update -----------------------------------------------------------------------------------


def test_update_merges_fields_and_keeps_the_others(api, workspace):
    create(
        api,
        modules=["app.flows"],
        provides={"gpu": ["A100"]},
        fields={"directory": "/a", "concurrency": 2, "env": {"A": "1", "B": "2"}},
    )

    response = api.patch(
        f"{URL}/local",
        {"set": {"concurrency": 8, "env.C": "3"}, "unset": ["env.A", "directory"]},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["fields"] == {"concurrency": 8, "env": {"B": "2", "C": "3"}}
    assert (body["modules"], body["provides"]) == (["app.flows"], {"gpu": ["A100"]})


def test_update_replaces_modules_and_clears_tags(api, workspace):
    create(api, modules=["a"], provides={"gpu": ["A100"]}, accepts={"tier": ["x"]})

    body = api.patch(f"{URL}/local", {"modules": ["b", "c"], "provides": None}).json()

    assert (body["modules"], body["provides"], body["accepts"]) == (["b", "c"], {}, {"tier": ["x"]})


def test_update_of_an_unknown_pool_is_not_found(api, workspace):
    response = api.patch(f"{URL}/nothing", {"set": {"concurrency": 1}})

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_update_refuses_unsetting_a_required_field(api, workspace):
    create(api, "d", "docker", fields={"image": "app:1"})

    response = api.patch(f"{URL}/d", {"unset": ["image"]})

    assert response.status_code == 400
    assert Pool.objects.get(name="d").config == {"image": "app:1"}


def test_a_patch_of_the_pool_list_still_renames_a_workspace_named_so(api, project):
    from workspaces.models import Workspace

    Workspace.objects.create(project=project, name="team/pools")

    response = api.patch("/api/projects/default/workspaces/team/pools", {"name": "team/p"})

    assert response.status_code == 200
    assert response.json()["name"] == "team/p"


# --- enable, disable, delete ------------------------------------------------------------------


def test_it_disables_and_enables_a_pool(api, workspace, django_capture_on_commit_callbacks):
    create(api)
    layer = get_channel_layer()
    async_to_sync(layer.flush)()

    with django_capture_on_commit_callbacks(execute=True):
        disabled = api.post(f"{URL}/local/disable")

    assert disabled.json()["state"] == "disabled"
    assert async_to_sync(layer.receive)(orchestrator_channel(workspace.project_id)) == WAKE
    assert api.post(f"{URL}/local/enable", {}).json()["state"] == "active"


def test_it_deletes_a_pool_and_keeps_its_launches(api, workspace):
    create(api)
    pool = Pool.objects.get(name="local")
    Launch.objects.create(workspace=workspace, pool=pool, pool_name="local")

    response = api.client.delete(f"{URL}/local")

    assert response.status_code == 204
    assert api.get(URL).json() == {"pools": []}
    assert Launch.objects.get().pool_name == "local"
    assert api.client.delete(f"{URL}/local").json()["error"] == "not_found"


@pytest.mark.parametrize("action", ["enable", "disable", "launches"])
def test_actions_on_an_unknown_pool_are_not_found(api, workspace, action):
    response = api.get(f"{URL}/nothing/{action}") if action == "launches" else None
    response = response or api.post(f"{URL}/nothing/{action}")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# --- launches ---------------------------------------------------------------------------------


def test_it_lists_the_launches_of_a_pool_newest_first(api, workspace, project):
    create(api)
    pool = Pool.objects.get(name="local")
    session = WorkerSession.objects.create(project=project, workspace=workspace)
    earlier = timezone.now() - timezone.timedelta(minutes=1)
    Launch.objects.create(
        id="Lold",
        workspace=workspace,
        pool=pool,
        pool_name="local",
        state="dead",
        error="exited with code 1",
        created_at=earlier,
        stopped_at=earlier,
    )
    Launch.objects.create(
        id="Lnew",
        workspace=workspace,
        pool=pool,
        pool_name="local",
        session=session,
        state="active",
        activated_at=timezone.now(),
    )

    launches = api.get(f"{URL}/local/launches").json()["launches"]

    assert [(x["id"], x["state"], x["sessionId"]) for x in launches] == [
        ("Lnew", "active", session.id),
        ("Lold", "dead", None),
    ]
    assert launches[1]["error"] == "exited with code 1"
    assert launches[0]["activatedAt"] and launches[1]["stoppedAt"]


# --- export and import ------------------------------------------------------------------------


def test_an_export_imports_back_unchanged(api, workspace):
    create(api, modules=["a"], fields={"directory": "/a", "env.X": "1"})
    create(api, "k8s", "kubernetes", fields={"image": "app:1", "token": "t"})
    exported = api.get(f"{URL}/export").json()["pools"]

    plan = api.post(f"{URL}/import", {"pools": exported}).json()

    assert plan == {"created": [], "updated": [], "unchanged": ["k8s", "local"], "dryRun": False}
    assert Pool.objects.get(name="k8s").config["token"] == "t"


def test_import_creates_and_replaces_and_a_dry_run_changes_nothing(api, workspace):
    create(api, fields={"directory": "/a"})
    pools = {
        "local": {"type": "process", "fields": {"directory": "/b"}},
        "gpu": {"type": "docker", "provides": {"gpu": ["A100"]}, "fields": {"image": "g:1"}},
    }

    dry = api.post(f"{URL}/import", {"pools": pools, "dryRun": True}).json()

    assert dry == {"created": ["gpu"], "updated": ["local"], "unchanged": [], "dryRun": True}
    assert list(Pool.objects.values_list("name", flat=True)) == ["local"]

    api.post(f"{URL}/import", {"pools": pools})

    assert Pool.objects.get(name="local").config == {"directory": "/b"}
    assert Pool.objects.get(name="gpu").provides == {"gpu": ["A100"]}


def test_import_refuses_a_bad_pool_and_changes_nothing(api, workspace):
    pools = {
        "fine": {"type": "process"},
        "broken": {"type": "docker"},
    }

    response = api.post(f"{URL}/import", {"pools": pools})

    assert response.status_code == 400
    assert not Pool.objects.exists()


def test_import_and_export_of_only_some_pools(api, workspace):
    create(api, "a")
    create(api, "b")

    assert list(api.get(f"{URL}/export", only="b").json()["pools"]) == ["b"]
    plan = api.post(
        f"{URL}/import",
        {"pools": {"a": {"type": "process"}, "c": {"type": "process"}}, "only": ["c"]},
    ).json()
    assert plan["created"] == ["c"]
    missing = api.post(f"{URL}/import", {"pools": {}, "only": ["z"]})
    assert missing.json()["error"] == "not_found"
