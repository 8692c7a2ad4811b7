"""Studio's websocket (``/studio/live``): keeps the parts of an open page up to date.

One socket per page. The page opens it with what it shows in the query string (``page``, and
``run``, ``workspace`` and the page's own filters and selection, from ``context.live_url``).
The consumer joins the channel-layer groups its parts listen to; the orchestrator publishes
there after each commit (``runs.orchestration.events``). An event marks the parts it concerns
as stale; at most every ``MIN_INTERVAL`` seconds the stale parts are drawn again, with the
same templates and functions as the page, and sent in one message. The htmx ws extension
swaps each element of it into the page by its id.

Right after connecting, every part is drawn once: what changed between the page's rendering
and the socket's subscription reached no one.

The parts of each kind of page are a table, ``PAGES``: adding a live part to a page is one
entry, a ``LivePart`` saying which groups it listens to, which events concern it and how to
draw it. A part drawn from a run that has not finished can ask to be drawn again after a while
(``refresh``), so the timeline's bars and the header's duration grow while nothing else
happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import WebsocketDenier
from django.http import QueryDict

from projects.models import Project
from projects.permissions import Action, may
from runs.models import Execution, Run
from runs.orchestration.events import run_group, workspace_group
from runs.snapshots import UNFINISHED_STATUSES, run_status
from runs.studio import pools_page, prompts, workspace_parts
from runs.studio.http import studio_project
from runs.studio.run_parts import find_run, render_part
from runs.studio.run_state import RunState
from workspaces.models import Workspace

logger = logging.getLogger("coflux.studio")

MIN_INTERVAL = 0.5
"""Seconds between two pushes to one page at least: a busy run's bursts are coalesced."""
COST_FACTOR = 3.0
"""Pushes to one page are at least this many times as far apart as drawing them took."""
GATHER = 0.05
"""Seconds to wait after a first event for the rest of its burst."""
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


@dataclass(frozen=True)
class Page:
    """What an open page shows, from its socket's query string, checked against the user."""

    kind: str
    query: QueryDict
    user: Any
    project: Project
    workspace: Workspace | None
    run: Run | None


@dataclass(frozen=True)
class Drawn:
    html: str
    growing: bool = False
    """The part shows something still going on: draw it again after its ``refresh``."""


@dataclass(frozen=True)
class LivePart:
    groups: Callable[[Page], list[str]]
    """The channel-layer groups whose events may concern it."""
    concerns: Callable[[Page, dict[str, Any]], bool]
    """Whether an event (``run.changed``, ``run.finished``, ``workspace.changed``) does."""
    draw: Callable[[Page], Drawn]
    """The part as the page draws it, with its element id (runs in a thread: may query)."""
    refresh: float | None = None


# --- the run page ---------------------------------------------------------------------------


def _run_groups(page: Page) -> list[str]:
    return [run_group(page.run.id)] if page.run is not None else []


def _run_state(page: Page) -> RunState:
    assert page.run is not None
    return RunState.from_live(page.run.id, page.query)


def _unfinished(run: Run) -> bool:
    latest = (
        Execution.objects.filter(step__run=run, step__number=1)
        .select_related("result")
        .order_by("-attempt")
        .first()
    )
    return run_status(latest) in UNFINISHED_STATUSES


def _draw_run_part(
    name: str, grows: Callable[[RunState], bool] = lambda state: False
) -> Callable[[Page], Drawn]:
    """Draw a part of the run page; ``grows`` says whether it shows the time going by in that
    view (the timeline's bars, the header's duration) and so is drawn again while the run
    has not finished."""

    def draw(page: Page) -> Drawn:
        assert page.run is not None
        state = _run_state(page)
        html = render_part(name, page.run, state)
        return Drawn(html, grows(state) and _unfinished(page.run))

    return draw


def _steps_changed(page: Page, event: dict[str, Any]) -> bool:
    return event.get("type") == "run.finished" or bool(event.get("steps"))


def _tab_concerned(page: Page, event: dict[str, Any]) -> bool:
    tab = _run_state(page).tab
    if tab == "logs":
        return event.get("type") == "run.changed" and bool(event.get("logs"))
    if tab == "children" and event.get("type") == "workspace.changed":
        return bool(event.get("runs"))
    return _steps_changed(page, event)


def _tab_groups(page: Page) -> list[str]:
    groups = _run_groups(page)
    if page.run is not None and _run_state(page).tab == "children":
        # The spawned runs' own changes are told to their workspace, not to this run.
        groups.append(workspace_group(page.run.workspace_id))
    return groups


def _panel_concerned(page: Page, event: dict[str, Any]) -> bool:
    """The panel is drawn again only when its own step changed (or, on its logs and
    connections tabs, when lines came or steps were added): a redraw folds the values the
    user unfolded there."""
    state = _run_state(page)
    if state.step is None or event.get("type") not in ("run.changed", "run.finished"):
        return False
    if event["type"] == "run.finished":
        return True
    if state.panel == "logs" and event.get("logs"):
        return True
    if state.panel == "connections" and event.get("steps"):
        return True
    return f"{state.run_id}:{state.step}" in (event.get("steps") or ())


def _inputs_changed(page: Page, event: dict[str, Any]) -> bool:
    return bool(event.get("inputs"))


def _draw_run_inputs(page: Page) -> Drawn:
    assert page.run is not None
    context = prompts.run_inputs_part(page.run, page.user)
    return Drawn(workspace_parts.draw(prompts.RUN_INPUTS, context))


RUN_PARTS = [
    LivePart(
        _run_groups,
        _steps_changed,
        _draw_run_part("header", grows=lambda state: True),
        refresh=5.0,
    ),
    LivePart(
        _tab_groups,
        _tab_concerned,
        _draw_run_part("tab", grows=lambda state: state.tab == "timeline"),
        refresh=2.0,
    ),
    LivePart(_run_groups, _panel_concerned, _draw_run_part("panel")),
    LivePart(_run_groups, _inputs_changed, _draw_run_inputs),
]


# --- the workspace pages (runs.studio.workspace_parts draws their parts) ----------------------


def _workspace_groups(page: Page) -> list[str]:
    return [workspace_group(page.workspace.pk)] if page.workspace is not None else []


def _workspace_changed(page: Page, event: dict[str, Any]) -> bool:
    return event.get("type") == "workspace.changed"


def _runs_changed(page: Page, event: dict[str, Any]) -> bool:
    return _workspace_changed(page, event) and bool(event.get("runs"))


def _draw_workspace_part(
    template: str, context_of: Callable[[Page, Workspace], dict[str, Any]]
) -> Callable[[Page], Drawn]:
    def draw(page: Page) -> Drawn:
        assert page.workspace is not None
        context = context_of(page, page.workspace)
        return Drawn(workspace_parts.draw(template, context), workspace_parts.growing(context))

    return draw


def _workflow_of(page: Page) -> tuple[str, str]:
    module, _, target = page.query.get("workflow", "").partition("/")
    return module, target


SIDEBAR_PART = LivePart(
    _workspace_groups,
    _workspace_changed,
    _draw_workspace_part(
        workspace_parts.SIDEBAR, lambda page, ws: workspace_parts.sidebar_part(ws)
    ),
)
OVERVIEW_RUNS = LivePart(
    _workspace_groups,
    _runs_changed,
    _draw_workspace_part(
        workspace_parts.RUNS, lambda page, ws: workspace_parts.runs_part(ws, page.query)
    ),
    refresh=5.0,
)
WORKFLOW_RUNS = LivePart(
    _workspace_groups,
    _runs_changed,
    _draw_workspace_part(
        workspace_parts.RUNS,
        lambda page, ws: workspace_parts.runs_part(ws, page.query, _workflow_of(page)),
    ),
    refresh=5.0,
)
MODULE_QUEUE = LivePart(
    _workspace_groups,
    _runs_changed,
    _draw_workspace_part(
        workspace_parts.MODULE_QUEUE,
        lambda page, ws: workspace_parts.module_queue_part(ws, page.query.get("module", "")),
    ),
    refresh=5.0,
)
SESSIONS = LivePart(
    _workspace_groups,
    _workspace_changed,
    _draw_workspace_part(
        workspace_parts.SESSIONS, lambda page, ws: workspace_parts.sessions_part(ws)
    ),
    refresh=5.0,
)
QUEUE = LivePart(
    _workspace_groups,
    _workspace_changed,
    _draw_workspace_part(workspace_parts.QUEUE, lambda page, ws: workspace_parts.queue_part(ws)),
    refresh=5.0,
)

INPUTS = LivePart(
    _workspace_groups,
    lambda page, event: _workspace_changed(page, event) and _inputs_changed(page, event),
    _draw_workspace_part(prompts.INPUTS, lambda page, ws: prompts.inputs_part(ws, page.user)),
)

POOLS = LivePart(
    _workspace_groups,
    _workspace_changed,
    _draw_workspace_part(pools_page.POOLS, lambda page, ws: pools_page.pools_part(ws, page.user)),
)

PAGES: dict[str, list[LivePart]] = {
    "run": [*RUN_PARTS, SIDEBAR_PART],
    "overview": [SIDEBAR_PART, OVERVIEW_RUNS],
    "workflow": [SIDEBAR_PART, WORKFLOW_RUNS],
    "module": [SIDEBAR_PART, MODULE_QUEUE],
    "workers": [SIDEBAR_PART, SESSIONS],
    "queue": [SIDEBAR_PART, QUEUE],
    "inputs": [SIDEBAR_PART, INPUTS],
    "pools": [SIDEBAR_PART, POOLS],
}
"""The live parts of each kind of page (the ``page`` its socket names)."""


# --- resolving a page -------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def resolve_page(query: QueryDict, user: Any) -> Page:
    """The page a socket was opened for, if it exists and the user may see it."""
    kind = query.get("page", "")
    if kind not in PAGES:
        raise Refused(CLOSE_NOT_FOUND)
    project = studio_project()
    workspace = None
    run = None
    raw_workspace = query.get("workspace", "")
    if raw_workspace:
        if not raw_workspace.isdigit():
            raise Refused(CLOSE_NOT_FOUND)
        workspace = Workspace.objects.live(project).filter(pk=int(raw_workspace)).first()
        if workspace is None:
            raise Refused(CLOSE_NOT_FOUND)
    if query.get("run"):
        run = find_run(project, query["run"])
        if run is None:
            raise Refused(CLOSE_NOT_FOUND)
        workspace = run.workspace
    if not may(user, Action.VIEW, workspace):
        raise Refused(CLOSE_FORBIDDEN)
    return Page(kind, query, user, project, workspace, run)


def draw_parts(page: Page, indexes: list[int]) -> list[tuple[int, Drawn]]:
    """Draw the page's parts ``indexes``: a part that fails is logged and left as it was."""
    parts = PAGES[page.kind]
    drawn = []
    for index in indexes:
        try:
            drawn.append((index, parts[index].draw(page)))
        except Exception:
            logger.exception("drawing live part %d of a %s page failed", index, page.kind)
    return drawn


# --- the consumer -----------------------------------------------------------------------------


class SameOrigin:
    """Refuse a websocket whose ``Origin`` is not the host it connects to: a page of another
    site must not open a socket with the user's session (with ``ALLOWED_HOSTS = *``, channels'
    ``AllowedHostsOriginValidator`` would let any origin through)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1")
        if not origin or not host or urlsplit(origin).netloc != host:
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)


class StudioConsumer(AsyncWebsocketConsumer):
    page: Page | None = None
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        self.stale: set[int] = set()
        self.flusher: asyncio.Task[None] | None = None
        self.timers: dict[int, asyncio.TimerHandle] = {}
        self.last_push = 0.0
        self.last_cost = 0.0
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        query = QueryDict(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            self.page = await database_sync_to_async(resolve_page)(query, user)
        except Refused as refused:
            await self.close(code=refused.code)
            return
        parts = PAGES[self.page.kind]
        groups = sorted({group for part in parts for group in part.groups(self.page)})
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        # What changed between the page's rendering and this subscription was told to no one:
        # draw every part once now.
        self.stale = set(range(len(parts)))
        self._schedule()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        for timer in self.timers.values():
            timer.cancel()
        if self.flusher is not None:
            self.flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.flusher

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page sends nothing the server acts on; what it shows is in the socket's URL."""

    # Events of the orchestrator (runs.orchestration.events), by their type.

    async def run_changed(self, event: dict[str, Any]) -> None:
        self._touch(event)

    async def run_finished(self, event: dict[str, Any]) -> None:
        self._touch(event)

    async def workspace_changed(self, event: dict[str, Any]) -> None:
        self._touch(event)

    def _touch(self, event: dict[str, Any]) -> None:
        if self.page is None:
            return
        for index, part in enumerate(PAGES[self.page.kind]):
            if part.concerns(self.page, event):
                self.stale.add(index)
        self._schedule()

    def _schedule(self) -> None:
        if self.stale and (self.flusher is None or self.flusher.done()):
            self.flusher = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        """Draw the stale parts and push them, no sooner than ``MIN_INTERVAL`` after the last
        push; events arriving meanwhile join the next push."""
        page = self.page
        while page is not None and self.stale:
            # A page that costs much to draw (a big run's graph) is drawn less often, so that
            # one open page never keeps the server busy most of the time.
            interval = max(MIN_INTERVAL, COST_FACTOR * self.last_cost)
            await asyncio.sleep(max(GATHER, self.last_push + interval - time.monotonic()))
            indexes, self.stale = sorted(self.stale), set()
            began = time.monotonic()
            drawn = await database_sync_to_async(draw_parts)(page, indexes)
            self.last_push = time.monotonic()
            self.last_cost = self.last_push - began
            if drawn:
                await self.send(text_data="".join(d.html for _, d in drawn))
            parts = PAGES[page.kind]
            loop = asyncio.get_running_loop()
            for index, d in drawn:
                refresh = parts[index].refresh
                if d.growing and refresh and index not in self.timers:
                    self.timers[index] = loop.call_later(refresh, self._refresh, index)

    def _refresh(self, index: int) -> None:
        self.timers.pop(index, None)
        self.stale.add(index)
        self._schedule()
