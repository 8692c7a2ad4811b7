"""Studio's pools page: pools with their settings and launched workers (lifecycle badges,
load, errors), enabling and disabling (asked first), the sidebar's pools with busy and idle
counts, and the page's live part."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from projects.models import Role, RoleGrant, WorkerSession
from runs.models import Execution
from runs.studio import live
from runs.studio.context import live_url
from runs.submission import submit_run
from runs.values import from_plain_json
from tests.studio.test_workspace_live import pushed
from workspaces.models import Launch, Pool, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def pooled(registered: Workspace) -> Pool:
    """A pool with a busy worker, an idle one, one starting and two that ended."""
    pool = Pool.objects.create(
        workspace=registered,
        name="gpu",
        type="kubernetes",
        modules=["app.flows"],
        provides={"gpu": ["A100"]},
        config={"image": "app:1", "token": "s3cret", "env": {"MODE": "x"}},
    )
    busy = WorkerSession.objects.create(
        project=registered.project, workspace=registered, connected=True
    )
    idle = WorkerSession.objects.create(
        project=registered.project, workspace=registered, connected=True
    )
    now = timezone.now()

    def launch(id: str, state: str, minutes: int, **fields) -> Launch:
        return Launch.objects.create(
            id=id,
            workspace=registered,
            pool=pool,
            pool_name="gpu",
            state=state,
            created_at=now - timedelta(minutes=minutes),
            **fields,
        )

    launch("Lbusy", "active", 3, session=busy, activated_at=now)
    launch("Lidle", "active", 4, session=idle, activated_at=now)
    launch("Lstart", "launching", 1)
    launch("Ldead", "dead", 10, error="exited with code 1\nImportError: app", stopped_at=now)
    launch("Lstop", "stopped", 20, stopped_at=now)
    execution = submit_run(registered, "app.flows", "greet", [from_plain_json("x")])
    Execution.objects.filter(pk=execution.pk).update(state="assigned", session=busy)
    Pool.objects.create(workspace=registered, name="spare", type="process", state="disabled")
    return pool


def test_the_pools_page_shows_each_pool_and_its_workers(studio: Client, pooled):
    response = studio.get("/w/default/pools")

    assert response.status_code == 200
    rows = response.context["pools"]
    assert [row.pool.name for row in rows] == ["gpu", "spare"]
    gpu = rows[0]
    assert [row.launch.id for row in gpu.launches] == ["Lstart", "Lbusy", "Lidle", "Ldead", "Lstop"]
    assert (gpu.busy, gpu.idle, gpu.starting) == (1, 1, 1)
    html = response.content.decode()
    assert 'id="pool-gpu"' in html and "gpu=A100" in html and "env.MODE" in html
    assert "s3cret" not in html and "********" in html
    assert '<span class="status state-abandoned"' in html and "exited with code 1" in html
    assert '<span class="status state-succeeded"' in html
    assert "1 busy, 1 idle, 1 starting" in html
    assert 'data-confirm="Disable pool gpu?' in html
    assert 'data-confirm="Enable pool spare?' in html


def test_the_pools_part_is_a_partial_for_htmx(studio: Client, pooled):
    partial = studio.get("/w/default/pools", HTTP_HX_REQUEST="true")

    assert partial.content.decode().strip().startswith('<div id="pools" class="cards">')
    assert '<nav class="sidebar"' not in partial.content.decode()


def test_the_sidebar_lists_pools_with_busy_and_idle_workers(studio: Client, pooled):
    html = studio.get("/w/default/").content.decode()

    assert '<ul class="nav-pools">' in html
    assert 'title="1 active">1<' in html and 'title="1 idle">1<' in html
    assert 'href="/w/default/pools#pool-spare"' in html


def test_a_pool_is_disabled_and_enabled_again(studio: Client, pooled, settings):
    settings.COFLUX_LAUNCHER_TYPES = ["kubernetes"]
    url = "/w/default/pools/gpu/state"

    disabled = studio.post(url, {"state": "disabled"}, HTTP_HX_REQUEST="true")

    assert disabled.status_code == 200
    assert '<div id="pools"' in disabled.content.decode()
    assert Pool.objects.get(name="gpu").state == "disabled"
    enabled = studio.post(url, {"state": "active"})
    assert enabled.status_code == 302 and enabled["Location"] == "/w/default/pools"
    assert Pool.objects.get(name="gpu").state == "active"


def test_enabling_a_pool_of_a_type_the_server_does_not_launch_says_so(studio, pooled, settings):
    settings.COFLUX_LAUNCHER_TYPES = ["process"]
    Pool.objects.filter(name="gpu").update(state="disabled")

    response = studio.post("/w/default/pools/gpu/state", {"state": "active"}, follow=True)

    assert "COFLUX_LAUNCHER_TYPES" in response.content.decode()
    assert Pool.objects.get(name="gpu").state == "disabled"


def test_disabling_an_unknown_pool_says_so(studio: Client, pooled):
    response = studio.post("/w/default/pools/nothing/state", {"state": "disabled"}, follow=True)

    assert "No pool named" in response.content.decode()


def test_a_viewer_may_see_pools_but_not_disable_them(client: Client, pooled):
    viewer = User.objects.create_user("victor", password="x")
    RoleGrant.objects.create(user=viewer, role=Role.VIEWER, workspaces="*")
    client.force_login(viewer)

    page = client.get("/w/default/pools")
    assert page.status_code == 200 and "Disable</button>" not in page.content.decode()
    assert client.post("/w/default/pools/gpu/state", {"state": "disabled"}).status_code == 403
    assert Pool.objects.get(name="gpu").state == "active"


def test_the_pools_page_has_a_live_part():
    assert live.POOLS in live.PAGES["pools"]


@pytest.fixture
def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.mark.django_db(transaction=True)
def test_the_pools_page_gets_its_workers_pushed(session_cookie, registered):
    pool = Pool.objects.create(workspace=registered, name="local", type="process")

    def launched() -> dict:
        Launch.objects.create(id="Lnew", workspace=registered, pool=pool, pool_name="local")
        return {"sessions": True}

    url = live_url(workspace=registered, page="pools")
    html = pushed(url, session_cookie, registered, launched, "Lnew")

    assert '<div id="pools" class="cards">' in html
    assert '<span class="status state-queued"' in html
