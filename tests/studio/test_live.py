"""Studio's websocket: who may open it, which events reach a page, and what it pushes then."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from coflux_server.asgi import application
from runs.studio import live
from runs.studio.live import StudioConsumer
from tests.studio.run_support import RunBuilder

pytestmark = pytest.mark.django_db(transaction=True)


def in_loop(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """An async test run to its end in an event loop of its own."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        async_to_sync(test)(*args, **kwargs)

    return run


@pytest.fixture
def builder() -> RunBuilder:
    return RunBuilder()


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushes as soon as the burst has gathered, so that tests do not wait half a second."""
    monkeypatch.setattr(live, "MIN_INTERVAL", 0.2)


@pytest.fixture
def refreshing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run page's parts are drawn again every 0.3 s, pushes leaving 0.1 s apart."""
    monkeypatch.setattr(live, "MIN_INTERVAL", 0.1)
    parts = [dataclasses.replace(part, refresh=0.3) for part in live.RUN_PARTS]
    monkeypatch.setitem(live.PAGES, "run", parts)


def path(builder: RunBuilder, run: str = "Rtest1", **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/studio/live?page=run&workspace={builder.workspace.pk}&run={run}&{query}"


async def connect(url: str, user: Any) -> tuple[WebsocketCommunicator, bool, Any]:
    """Connect, and read the push that follows every connection (see the next test)."""
    communicator = WebsocketCommunicator(StudioConsumer.as_asgi(), url)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    if connected:
        await communicator.receive_from(timeout=5)
    return communicator, connected, code


def changed(run: str = "Rtest1", steps: list[str] | None = None, logs: bool = False) -> dict:
    return {"type": "run.changed", "run": run, "steps": steps or [], "logs": logs, "metrics": False}


@in_loop
async def test_it_refuses_anonymous_users(builder):
    await sync_to_async(builder.start)()
    _, connected, code = await connect(path(builder), AnonymousUser())
    assert not connected and code == live.CLOSE_UNAUTHENTICATED


@in_loop
async def test_it_refuses_unknown_runs_and_pages(builder, user):
    _, connected, code = await connect(path(builder, "Rnope"), user)
    assert not connected and code == live.CLOSE_NOT_FOUND
    _, connected, code = await connect("/studio/live?page=nothing", user)
    assert not connected and code == live.CLOSE_NOT_FOUND


@in_loop
async def test_every_part_is_drawn_once_on_connecting(builder, user, fast):
    """What changed between the page's rendering and the subscription reached no one."""
    await sync_to_async(builder.start)()
    communicator = WebsocketCommunicator(StudioConsumer.as_asgi(), path(builder, step="1"))
    communicator.scope["user"] = user
    assert (await communicator.connect())[0]
    pushed = await communicator.receive_from(timeout=5)
    for part in ('id="run-header"', 'id="run-tab"', 'id="step-panel"', 'id="sidebar"'):
        assert part in pushed
    assert await communicator.receive_nothing(timeout=0.4)
    await communicator.disconnect()


@in_loop
async def test_a_change_of_the_run_pushes_its_header_and_graph(builder, user, fast):
    root = await sync_to_async(builder.start)()
    communicator, connected, _ = await connect(path(builder), user)
    assert connected
    child = await sync_to_async(builder.call)(root)
    await get_channel_layer().group_send("run.Rtest1", changed(steps=["Rtest1:2"]))
    pushed = await communicator.receive_from(timeout=5)
    assert pushed.lstrip().startswith('<section id="run-header"')
    assert '<section id="run-tab" class="run-tab tab-graph">' in pushed
    assert f'data-node="step:{child.rsplit(":", 1)[0]}"' in pushed
    assert 'id="step-panel"' not in pushed  # no step is selected
    await communicator.disconnect()


@in_loop
async def test_a_burst_of_events_is_one_push(builder, user, fast):
    await sync_to_async(builder.start)()
    communicator, _, _ = await connect(path(builder, tab="timeline", step="1"), user)
    layer = get_channel_layer()
    for _ in range(20):
        await layer.group_send("run.Rtest1", changed(steps=["Rtest1:1"]))
    pushed = await communicator.receive_from(timeout=5)
    assert pushed.count('id="run-header"') == 1 and 'class="timeline-svg"' in pushed
    assert 'id="step-panel"' in pushed
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


@in_loop
async def test_the_panel_is_drawn_again_only_when_its_step_changed(builder, user, fast):
    root = await sync_to_async(builder.start)()
    communicator, _, _ = await connect(path(builder, step="1"), user)
    await sync_to_async(builder.call)(root)
    layer = get_channel_layer()
    await layer.group_send("run.Rtest1", changed(steps=["Rtest1:2"]))
    other = await communicator.receive_from(timeout=5)
    assert 'id="run-tab"' in other and 'id="step-panel"' not in other
    await layer.group_send("run.Rtest1", changed(steps=["Rtest1:1"]))
    own = await communicator.receive_from(timeout=5)
    assert 'id="step-panel"' in own
    await communicator.disconnect()


@in_loop
async def test_pushes_are_spaced_by_the_minimum_interval(builder, user, monkeypatch):
    monkeypatch.setattr(live, "MIN_INTERVAL", 0.6)
    await sync_to_async(builder.start)()
    communicator, _, _ = await connect(path(builder), user)
    layer = get_channel_layer()
    await layer.group_send("run.Rtest1", changed(steps=["Rtest1:1"]))
    await communicator.receive_from(timeout=5)
    loop = asyncio.get_running_loop()
    pushed_at = loop.time()
    await layer.group_send("run.Rtest1", changed(steps=["Rtest1:1"]))
    await communicator.receive_from(timeout=5)
    assert loop.time() - pushed_at >= 0.5
    await communicator.disconnect()


@in_loop
async def test_the_logs_tab_gets_its_lines_and_keeps_its_filters(builder, user, fast):
    root = await sync_to_async(builder.start)()
    communicator, _, _ = await connect(path(builder, tab="logs", level="error,info"), user)
    await sync_to_async(builder.log)(root, "hello <b>", level=2)
    await sync_to_async(builder.log)(root, "printed", level=1)
    layer = get_channel_layer()
    await layer.group_send("run.Rtest1", changed(steps=[]))
    assert await communicator.receive_nothing(timeout=0.5)  # no lines, no step: nothing for it
    await layer.group_send("run.Rtest1", changed(logs=True))
    pushed = await communicator.receive_from(timeout=5)
    assert pushed.lstrip().startswith('<div id="log-list"')
    assert "hello &lt;b&gt;" in pushed and "printed" not in pushed
    assert "log-filters" not in pushed  # the form being typed in stays
    await communicator.disconnect()


@in_loop
async def test_other_runs_and_finished_runs(builder, user, fast):
    await sync_to_async(builder.start)()
    communicator, _, _ = await connect(path(builder), user)
    layer = get_channel_layer()
    await layer.group_send("run.Rother", changed("Rother", steps=["Rother:1"]))
    assert await communicator.receive_nothing(timeout=0.4)
    await layer.group_send("run.Rtest1", {"type": "run.finished", "run": "Rtest1"})
    assert 'id="run-header"' in await communicator.receive_from(timeout=5)
    await communicator.disconnect()


@in_loop
async def test_a_part_showing_something_unfinished_is_drawn_again(builder, user, refreshing):
    await sync_to_async(builder.start)()
    communicator, _, _ = await connect(path(builder, tab="timeline"), user)
    await get_channel_layer().group_send("run.Rtest1", changed(steps=["Rtest1:1"]))
    first = await communicator.receive_from(timeout=5)
    again = await communicator.receive_from(timeout=5)  # no event: the refresh
    assert 'id="run-header"' in first and 'class="timeline-svg"' in again
    await communicator.disconnect()


@in_loop
async def test_the_graph_is_not_drawn_again_without_a_change(builder, user, refreshing):
    await sync_to_async(builder.start)()
    communicator, _, _ = await connect(path(builder), user)
    again = await communicator.receive_from(timeout=5)  # the header's duration goes on
    assert 'id="run-header"' in again and 'id="run-tab"' not in again
    await communicator.disconnect()


@in_loop
async def test_through_the_server_it_needs_the_session_and_the_same_origin(builder, user, fast):
    await sync_to_async(builder.start)()
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    url = path(builder)

    async def attempt(origin: bytes, with_cookie: bool) -> tuple[bool, Any]:
        headers = [(b"host", b"studio.test"), (b"origin", origin)]
        if with_cookie:
            headers.append((b"cookie", cookie))
        communicator = WebsocketCommunicator(application, url, headers=headers)
        result = await communicator.connect()
        await communicator.disconnect()
        return result

    assert (await attempt(b"http://studio.test", True))[0]
    assert not (await attempt(b"http://evil.test", True))[0]
    connected, code = await attempt(b"http://studio.test", False)
    assert not connected and code == live.CLOSE_UNAUTHENTICATED
