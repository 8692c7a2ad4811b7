"""The authorization matrix of Studio's pages and actions: every route (from the URL resolver)
× the matrix's principals × ``prod/app`` and ``dev``.

Studio knows people only: a bearer token is no login there, so every token principal is sent
to the login page, as anonymous is. A viewer sees every page and is refused (403) every
action; an operator takes every action but configuring pools (administer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from projects.actions import Action
from tests.auth.world import PRINCIPALS, WORKSPACES, World, make_world, url_routes

pytestmark = pytest.mark.django_db

STUDIO_GRANTS = {
    "studio viewer": {Action.VIEW},
    "studio operator": {Action.VIEW, Action.OPERATE, Action.RESPOND, Action.MANAGE},
    "studio viewer of dev": {Action.VIEW},
}
ONLY_IN = {"studio viewer of dev": "dev"}
"""Whose role covers one workspace only; elsewhere everything is refused them."""
UNSCOPED = {"", "studio/values"}
"""Routes that name no workspace: any role somewhere will do."""
PUBLIC = {"login/", "logout/"}
"""Where anyone may go: logging in and out."""


@dataclass(frozen=True)
class Page:
    route: str
    method: str
    path: Callable[[World, str], str]
    action: Action
    data: Callable[[World, str], dict[str, str]] | None = None


def _w(world: World, w: str) -> str:
    return f"/w/{w}"


def _run(world: World, w: str) -> str:
    return f"/runs/{world.places[w].run_id}"


def _input(world: World, w: str) -> str:
    return f"/inputs/{world.places[w].input_id}"


def _asset(world: World, w: str) -> str:
    return f"/assets/{world.places[w].asset_id}"


W = "w/<path:workspace>"
PAGES: list[Page] = [
    Page("", "GET", lambda world, w: "/", Action.VIEW),
    Page(
        "workspaces/new",
        "POST",
        lambda world, w: "/workspaces/new",
        Action.MANAGE,
        data=lambda world, w: {"name": f"{w}/new"},
    ),
    Page(f"{W}/", "GET", lambda world, w: f"{_w(world, w)}/", Action.VIEW),
    Page(f"{W}/goto", "GET", lambda world, w: f"{_w(world, w)}/goto?q=greet", Action.VIEW),
    Page(f"{W}/pause", "POST", lambda world, w: f"{_w(world, w)}/pause", Action.OPERATE),
    Page(f"{W}/resume", "POST", lambda world, w: f"{_w(world, w)}/resume", Action.OPERATE),
    Page(f"{W}/archive", "POST", lambda world, w: f"{_w(world, w)}/archive", Action.MANAGE),
    Page(
        f"{W}/workflows/<str:module>/<str:target>",
        "GET",
        lambda world, w: f"{_w(world, w)}/workflows/app.flows/greet",
        Action.VIEW,
    ),
    Page(
        f"{W}/workflows/<str:module>/<str:target>",
        "POST",
        lambda world, w: f"{_w(world, w)}/workflows/app.flows/greet",
        Action.OPERATE,
        data=lambda world, w: {"arg-name": '"ada"'},
    ),
    Page(
        f"{W}/modules/<str:module>",
        "GET",
        lambda world, w: f"{_w(world, w)}/modules/app.flows",
        Action.VIEW,
    ),
    Page(f"{W}/workers", "GET", lambda world, w: f"{_w(world, w)}/workers", Action.VIEW),
    Page(f"{W}/queue", "GET", lambda world, w: f"{_w(world, w)}/queue", Action.VIEW),
    Page(
        f"{W}/queue/cancel",
        "POST",
        lambda world, w: f"{_w(world, w)}/queue/cancel",
        Action.OPERATE,
        data=lambda world, w: {"execution": world.places[w].execution_id},
    ),
    Page(f"{W}/inputs", "GET", lambda world, w: f"{_w(world, w)}/inputs", Action.VIEW),
    Page(f"{W}/pools", "GET", lambda world, w: f"{_w(world, w)}/pools", Action.VIEW),
    Page(
        f"{W}/pools/<str:pool>/state",
        "POST",
        lambda world, w: f"{_w(world, w)}/pools/builders/state",
        Action.ADMINISTER,
        data=lambda world, w: {"state": "disabled"},
    ),
    Page(
        "inputs/<str:run_id>/<str:number>/respond",
        "POST",
        lambda world, w: f"{_input(world, w)}/respond",
        Action.RESPOND,
    ),
    Page(
        "inputs/<str:run_id>/<str:number>/dismiss",
        "POST",
        lambda world, w: f"{_input(world, w)}/dismiss",
        Action.RESPOND,
    ),
    Page("runs/<str:run_id>", "GET", _run, Action.VIEW),
    Page(
        "runs/<str:run_id>/groups/<str:execution>/<int:group>",
        "GET",
        lambda world, w: f"{_run(world, w)}/groups/{world.places[w].execution_id}/1",
        Action.VIEW,
    ),
    Page(
        "runs/<str:run_id>/cancel",
        "POST",
        lambda world, w: f"{_run(world, w)}/cancel",
        Action.OPERATE,
        data=lambda world, w: {"confirmed": "yes"},
    ),
    Page(
        "runs/<str:run_id>/steps/<int:step>/rerun",
        "POST",
        lambda world, w: f"{_run(world, w)}/steps/1/rerun",
        Action.OPERATE,
        data=lambda world, w: {"confirmed": "yes", "workspace": w},
    ),
    Page(
        "runs/<str:run_id>/steps/<int:step>/attempts/<int:attempt>/cancel",
        "POST",
        lambda world, w: f"{_run(world, w)}/steps/1/attempts/1/cancel",
        Action.OPERATE,
        data=lambda world, w: {"confirmed": "yes"},
    ),
    Page(
        "runs/<str:run_id>/logs.<str:form>",
        "GET",
        lambda world, w: f"{_run(world, w)}/logs.txt",
        Action.VIEW,
    ),
    Page(
        "studio/values",
        "POST",
        lambda world, w: "/studio/values",
        Action.VIEW,
        data=lambda world, w: {"data": "1"},
    ),
    Page("assets/<str:asset_id>", "GET", _asset, Action.VIEW),
    Page(
        "assets/<str:asset_id>/download",
        "GET",
        lambda world, w: f"{_asset(world, w)}/download",
        Action.VIEW,
    ),
    Page(
        "assets/<str:asset_id>/files/<path:path>",
        "GET",
        lambda world, w: f"{_asset(world, w)}/files/a.txt",
        Action.VIEW,
    ),
]


def studio_routes() -> set[str]:
    return {
        route
        for route in url_routes()
        if not route.startswith(("api/", "^blobs/", "admin/")) and route not in PUBLIC
    }


def test_every_studio_route_is_in_the_matrix() -> None:
    assert studio_routes() == {page.route for page in PAGES}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any) -> World:
    return make_world(monkeypatch, settings, tmp_path)


def answer(world: World, principal: str, page: Page, w: str) -> Any:
    """The response to ``principal``'s request, made in a savepoint that is then rolled back."""

    def respond() -> Any:
        client = world.client(principal)
        if page.method == "GET":
            return client.get(page.path(world, w))
        data = page.data(world, w) if page.data is not None else {}
        return client.post(page.path(world, w), data)

    return world.rolled_back(respond)


def mismatch(principal: str, page: Page, w: str, response: Any) -> str:
    status = response.status_code
    to_login = status == 302 and response["Location"].startswith("/login/")
    if principal not in STUDIO_GRANTS:
        return "" if to_login else f"expected the login page, got {status}"
    elsewhere = ONLY_IN.get(principal, w) != w and page.route not in UNSCOPED
    if page.action not in STUDIO_GRANTS[principal] or elsewhere:
        return "" if status == 403 else f"expected 403 ({page.action}), got {status}"
    return "" if status in (200, 302) and not to_login else f"expected success, got {status}"


@pytest.mark.parametrize("w", WORKSPACES)
@pytest.mark.parametrize("page", PAGES, ids=lambda page: f"{page.method} {page.route}")
def test_studio_lets_each_person_do_what_their_role_allows(world: World, page: Page, w: str):
    wrong = {}
    for principal in PRINCIPALS:
        problem = mismatch(principal, page, w, answer(world, principal, page, w))
        if problem:
            wrong[principal] = problem
    assert wrong == {}


def test_pages_hide_the_actions_a_person_may_not_take(world: World):
    """The run page's cancel and re-run, and the queue's cancel, are marked operate-only; the
    page hides them from whoever may not operate in its workspace."""
    for principal, hidden in [("studio viewer", True), ("studio operator", False)]:
        client = world.client(principal)
        for path in (f"/runs/{world.places['dev'].run_id}?step=1", "/w/dev/queue"):
            html = client.get(path).content.decode()
            assert "operate-only" in html, path
            assert ("no-operate" in html.split("<body", 1)[1].split(">", 1)[0]) is hidden
