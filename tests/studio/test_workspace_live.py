"""The workspace pages' live parts: a page's socket gets, after an event on its workspace's
group, the same partials the page drew (sidebar counts, runs list, queues, workers)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from coflux_server.asgi import application
from projects.models import WorkerSession
from runs.studio.context import live_url
from runs.submission import submit_run
from runs.values import from_plain_json
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def pushed(
    url: str, cookie: str | None, workspace: Workspace, change: Callable[[], dict], until: str
) -> str:
    """Open the page's socket, make ``change`` (returning the event's fields), announce it on
    the workspace's group as the orchestrator does, and return the first message the socket
    receives that contains ``until`` (the socket also draws every part once on connecting,
    which may come before or after the change)."""

    async def scenario() -> str:
        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
        if cookie is not None:
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        communicator = WebsocketCommunicator(application, url, headers=headers)
        connected, code = await communicator.connect()
        if not connected:
            return f"refused {code}"
        try:
            fields = await sync_to_async(change)()
            event = {"type": "workspace.changed", "workspace": workspace.pk, "runs": []}
            event["sessions"] = False
            await get_channel_layer().group_send(f"workspace.{workspace.pk}", event | fields)
            while True:
                message = await communicator.receive_from(timeout=5)
                if until in message:
                    return message
        finally:
            await communicator.disconnect()

    return async_to_sync(scenario)()


def submitter(workspace: Workspace) -> Callable[[], dict]:
    def submit() -> dict:
        execution = submit_run(workspace, "app.flows", "greet", [from_plain_json("x")])
        return {"runs": [execution.id.split(":")[0]]}

    return submit


def test_the_overview_gets_its_runs_and_sidebar_pushed(session_cookie, registered) -> None:
    url = live_url(workspace=registered, page="overview", params={"status": "queued"})
    html = pushed(url, session_cookie, registered, submitter(registered), 'href="/runs/R')
    assert '<nav class="sidebar" id="sidebar"' in html
    assert '<section id="runs"' in html and 'href="/runs/R' in html
    assert 'title="1 queued"' in html
    assert "studio-live" not in html  # a push never moves the socket


def test_pushed_runs_keep_the_pages_filters(session_cookie, registered) -> None:
    url = live_url(workspace=registered, page="overview", params={"status": "failed"})
    html = pushed(url, session_cookie, registered, submitter(registered), 'title="1 queued"')
    assert "No runs match these filters." in html


def test_the_workers_page_gets_sessions_pushed(session_cookie, registered) -> None:
    created: list[WorkerSession] = []

    def connect() -> dict:
        created.append(
            WorkerSession.objects.create(
                project_id=registered.project_id, workspace=registered, connected=True
            )
        )
        return {"sessions": True}

    url = live_url(workspace=registered, page="workers")
    html = pushed(url, session_cookie, registered, connect, 'class="card session"')
    assert '<div id="sessions"' in html and created[0].id in html


@pytest.mark.parametrize(
    ("page", "params", "element"),
    [
        ("module", {"module": "app.flows"}, '<div id="module-queue"'),
        ("queue", {}, '<section id="queue-entries"'),
        ("workflow", {"workflow": "app.flows/greet"}, '<section id="runs"'),
    ],
)
def test_queues_and_workflow_runs_are_pushed(
    session_cookie, registered, page: str, params: dict[str, str], element: str
) -> None:
    url = live_url(workspace=registered, page=page, params=params)
    html = pushed(url, session_cookie, registered, submitter(registered), 'href="/runs/R')
    assert element in html and "greet" in html


def test_a_socket_without_a_login_is_refused(registered) -> None:
    url = live_url(workspace=registered, page="overview")
    assert pushed(url, None, registered, submitter(registered), "").startswith("refused")
