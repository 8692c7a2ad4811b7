"""The authorization matrix of the HTTP API: every endpoint × every principal × the workspaces
``prod/app`` and ``dev``, each answered 401, 403 or its success, as an oracle written here (not
the server's own check) says it should be.

The endpoints are enumerated from the URL resolver: an endpoint added without a row in
``CALLS`` fails ``test_every_endpoint_is_in_the_matrix``, so none escapes the matrix. Each
principal's request is made against the same world, rolled back after it (database and
orchestrator alike), so that a request that archives or deletes does not change what the next
principal finds. Studio's own pages are in ``test_studio_matrix.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from projects.actions import Action
from tests.auth.world import (
    BLOB,
    BLOB_KEY,
    PRINCIPALS,
    WORKSPACES,
    World,
    make_world,
    url_routes,
)

pytestmark = pytest.mark.django_db

ALL = frozenset(Action)
ORACLE: dict[str, list[tuple[str, frozenset[Action]]]] = {
    "super token": [("*", ALL)],
    "service token prod/*": [("prod/*", ALL)],
    "service token dev": [("dev", ALL)],
    "worker session of dev": [("dev", frozenset({Action.VIEW, Action.OPERATE}))],
    "studio viewer": [("*", frozenset({Action.VIEW}))],
    "studio operator": [
        ("*", frozenset({Action.VIEW, Action.OPERATE, Action.RESPOND, Action.MANAGE}))
    ],
    "studio viewer of dev": [("dev", frozenset({Action.VIEW}))],
}
"""What each principal is granted where, as the issue describes them."""
UNAUTHENTICATED = {"anonymous", "wrong token", "revoked token"}


def _covers(pattern: str, name: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("/*"):
        root = pattern[:-2]
        return name == root or name.startswith(root + "/")
    return name == pattern


def expected_allowed(principal: str, action: Action | None, target: str | None) -> bool:
    grants = ORACLE[principal]
    if action is None:
        return True
    if target is None:
        return any(action in actions for _, actions in grants)
    return any(action in actions and _covers(pattern, target) for pattern, actions in grants)


P = "/api/projects/default"


def _ws(world: World, w: str) -> str:
    return f"{P}/workspaces/{w}"


@dataclass(frozen=True)
class Call:
    route: str
    """The resolver's route of the endpoint."""
    method: str
    path: Callable[[World, str], str]
    action: Action | None
    """The grant it takes; None: any authenticated caller."""
    in_workspace: bool = True
    """Whether it acts in one workspace (the matrix's), or somewhere in the project."""
    body: Callable[[World, str], Any] | None = None
    ok: int = 200
    target: Callable[[str], str] = field(default=lambda w: w)
    """The workspace the grant is asked for, from the matrix's workspace."""


WS = "api/projects/<slug:project>/workspaces/<path:workspace>"
PR = "api/projects/<slug:project>"
GREET = {"name": "greet", "type": "workflow", "parameters": [], "options": {}}

CALLS: list[Call] = [
    Call("api/discover", "GET", lambda world, w: "/api/discover", None, in_workspace=False),
    Call("api/schema/", "GET", lambda world, w: "/api/schema/", None, in_workspace=False),
    Call("api/docs/", "GET", lambda world, w: "/api/docs/", None, in_workspace=False),
    Call(f"{PR}/workspaces", "GET", lambda world, w: f"{P}/workspaces", None, in_workspace=False),
    Call(
        f"{PR}/workspaces",
        "POST",
        lambda world, w: f"{P}/workspaces",
        Action.MANAGE,
        body=lambda world, w: {"name": f"{w}/new"},
        ok=201,
        target=lambda w: f"{w}/new",
    ),
    Call(WS, "PATCH", _ws, Action.MANAGE, body=lambda world, w: {"base": None}),
    Call(f"{WS}/manifests", "GET", lambda world, w: f"{_ws(world, w)}/manifests", Action.VIEW),
    Call(
        f"{WS}/manifests",
        "POST",
        lambda world, w: f"{_ws(world, w)}/manifests",
        Action.OPERATE,
        body=lambda world, w: {"modules": {"app.more": [GREET]}},
    ),
    Call(
        f"{WS}/manifests/<str:module>/archive",
        "POST",
        lambda world, w: f"{_ws(world, w)}/manifests/app.flows/archive",
        Action.MANAGE,
        body=lambda world, w: {},
    ),
    Call(f"{WS}/runs", "GET", lambda world, w: f"{_ws(world, w)}/runs", Action.VIEW),
    Call(
        f"{WS}/runs",
        "POST",
        lambda world, w: f"{_ws(world, w)}/runs",
        Action.OPERATE,
        body=lambda world, w: {"module": "app.flows", "target": "greet", "arguments": ["x"]},
        ok=201,
    ),
    Call(f"{WS}/inputs", "GET", lambda world, w: f"{_ws(world, w)}/inputs", Action.VIEW),
    Call(f"{WS}/pools", "GET", lambda world, w: f"{_ws(world, w)}/pools", Action.VIEW),
    Call(
        f"{WS}/pools",
        "POST",
        lambda world, w: f"{_ws(world, w)}/pools",
        Action.ADMINISTER,
        body=lambda world, w: {"name": "more", "type": "process"},
        ok=201,
    ),
    Call(
        f"{WS}/pools/export", "GET", lambda world, w: f"{_ws(world, w)}/pools/export", Action.VIEW
    ),
    Call(
        f"{WS}/pools/import",
        "POST",
        lambda world, w: f"{_ws(world, w)}/pools/import",
        Action.ADMINISTER,
        body=lambda world, w: {"pools": {"more": {"type": "process"}}, "dryRun": True},
    ),
    Call(
        f"{WS}/pools/<str:pool>",
        "GET",
        lambda world, w: f"{_ws(world, w)}/pools/builders",
        Action.VIEW,
    ),
    Call(
        f"{WS}/pools/<str:pool>",
        "PATCH",
        lambda world, w: f"{_ws(world, w)}/pools/builders",
        Action.ADMINISTER,
        body=lambda world, w: {"modules": ["app.other"]},
    ),
    Call(
        f"{WS}/pools/<str:pool>",
        "DELETE",
        lambda world, w: f"{_ws(world, w)}/pools/builders",
        Action.ADMINISTER,
        ok=204,
    ),
    Call(
        f"{WS}/pools/<str:pool>/enable",
        "POST",
        lambda world, w: f"{_ws(world, w)}/pools/builders/enable",
        Action.ADMINISTER,
        body=lambda world, w: {},
    ),
    Call(
        f"{WS}/pools/<str:pool>/disable",
        "POST",
        lambda world, w: f"{_ws(world, w)}/pools/builders/disable",
        Action.ADMINISTER,
        body=lambda world, w: {},
    ),
    Call(
        f"{WS}/pools/<str:pool>/launches",
        "GET",
        lambda world, w: f"{_ws(world, w)}/pools/builders/launches",
        Action.VIEW,
    ),
    Call(
        f"{WS}/pause",
        "POST",
        lambda world, w: f"{_ws(world, w)}/pause",
        Action.OPERATE,
        body=lambda world, w: {},
    ),
    Call(
        f"{WS}/resume",
        "POST",
        lambda world, w: f"{_ws(world, w)}/resume",
        Action.OPERATE,
        body=lambda world, w: {},
    ),
    Call(
        f"{WS}/archive",
        "POST",
        lambda world, w: f"{_ws(world, w)}/archive",
        Action.MANAGE,
        body=lambda world, w: {},
    ),
    Call(f"{WS}/sessions", "GET", lambda world, w: f"{_ws(world, w)}/sessions", Action.VIEW),
    Call(f"{WS}/queue", "GET", lambda world, w: f"{_ws(world, w)}/queue", Action.VIEW),
    Call(
        f"{PR}/executions/<str:execution_id>/cancel",
        "POST",
        lambda world, w: f"{P}/executions/{world.places[w].execution_id}/cancel",
        Action.OPERATE,
        body=lambda world, w: {},
    ),
    Call(
        f"{PR}/steps/<str:step_id>/rerun",
        "POST",
        lambda world, w: f"{P}/steps/{world.places[w].run_id}:1/rerun",
        Action.OPERATE,
        body=lambda world, w: {},
        ok=201,
    ),
    Call(
        f"{PR}/runs/<str:run_id>",
        "GET",
        lambda world, w: f"{P}/runs/{world.places[w].run_id}",
        Action.VIEW,
    ),
    Call(
        f"{PR}/runs/<str:run_id>/result",
        "GET",
        lambda world, w: f"{P}/runs/{world.places[w].run_id}/result",
        Action.VIEW,
    ),
    Call(
        f"{PR}/runs/<str:run_id>/logs",
        "GET",
        lambda world, w: f"{P}/runs/{world.places[w].run_id}/logs",
        Action.VIEW,
    ),
    Call(
        f"{PR}/runs/<str:run_id>/metrics",
        "GET",
        lambda world, w: f"{P}/runs/{world.places[w].run_id}/metrics",
        Action.VIEW,
    ),
    Call(
        f"{PR}/inputs/<str:run_id>/<str:number>",
        "GET",
        lambda world, w: f"{P}/inputs/{world.places[w].input_id}",
        Action.VIEW,
    ),
    Call(
        f"{PR}/inputs/<str:run_id>/<str:number>/respond",
        "POST",
        lambda world, w: f"{P}/inputs/{world.places[w].input_id}/respond",
        Action.RESPOND,
        body=lambda world, w: {"value": "yes"},
    ),
    Call(
        f"{PR}/inputs/<str:run_id>/<str:number>/dismiss",
        "POST",
        lambda world, w: f"{P}/inputs/{world.places[w].input_id}/dismiss",
        Action.RESPOND,
        body=lambda world, w: {},
    ),
    Call(
        f"{PR}/assets",
        "POST",
        lambda world, w: f"{P}/assets",
        Action.OPERATE,
        body=lambda world, w: {
            "executionId": world.places[w].execution_id,
            "entries": {"b.txt": {"blobKey": "c" * 64, "size": 2}},
        },
        ok=201,
    ),
    Call(
        f"{PR}/assets/<str:asset_id>",
        "GET",
        lambda world, w: f"{P}/assets/{world.places[w].asset_id}",
        Action.VIEW,
    ),
    Call(
        f"{PR}/tokens",
        "GET",
        lambda world, w: f"{P}/tokens",
        Action.ADMINISTER,
        in_workspace=False,
    ),
    Call(
        f"{PR}/tokens",
        "POST",
        lambda world, w: f"{P}/tokens",
        Action.ADMINISTER,
        body=lambda world, w: {"name": "made", "workspaces": [w]},
        ok=201,
    ),
    Call(
        f"{PR}/tokens/<str:token_id>/revoke",
        "POST",
        lambda world, w: f"{P}/tokens/{world.tokens[f'token for {w}:id']}/revoke",
        Action.ADMINISTER,
        body=lambda world, w: {},
    ),
    Call(
        r"api/^(?P<path>[\s\S]*)$",
        "GET",
        lambda world, w: f"{P}/nothing-here",
        None,
        in_workspace=False,
        ok=404,
    ),
    Call(
        r"^blobs/(?P<key>[\s\S]*)$",
        "GET",
        lambda world, w: f"/blobs/{BLOB_KEY}",
        Action.VIEW,
        in_workspace=False,
    ),
    Call(
        r"^blobs/(?P<key>[\s\S]*)$",
        "PUT",
        lambda world, w: f"/blobs/{BLOB_KEY}",
        Action.OPERATE,
        in_workspace=False,
        ok=204,
    ),
]


def api_routes() -> set[str]:
    return {r for r in url_routes() if r.startswith(("api/", "^blobs/"))}


def test_every_endpoint_is_in_the_matrix() -> None:
    assert api_routes() == {call.route for call in CALLS}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any) -> World:
    return make_world(monkeypatch, settings, tmp_path)


def request(world: World, principal: str, call: Call, w: str) -> Any:
    client = world.client(principal)
    body = call.body(world, w) if call.body is not None else None
    data = json.dumps(body) if body is not None else ""
    if call.method == "PUT":
        return client.generic("PUT", call.path(world, w), BLOB)
    return client.generic(call.method, call.path(world, w), data, content_type="application/json")


def outcome(world: World, principal: str, call: Call, w: str) -> tuple[int, dict[str, Any]]:
    """The answer to ``principal``'s request, made in a savepoint that is then rolled back."""

    def answer() -> tuple[int, dict[str, Any]]:
        response = request(world, principal, call, w)
        is_json = response.get("Content-Type", "").startswith("application/json")
        return response.status_code, response.json() if is_json else {}

    return world.rolled_back(answer)


def mismatch(principal: str, call: Call, w: str, status: int, body: dict[str, Any]) -> str:
    target = call.target(w) if call.in_workspace else None
    if principal in UNAUTHENTICATED:
        if status == 401 and body.get("error") == "unauthorized":
            return ""
        return f"expected 401, got {status} {body}"
    if not expected_allowed(principal, call.action, target):
        details = body.get("details") or {}
        right = (
            status == 403
            and body.get("error") == "forbidden"
            and details.get("grant") == call.action
            and details.get("workspace") == target
        )
        return "" if right else f"expected 403 ({call.action} in {target}), got {status} {body}"
    return "" if status == call.ok else f"expected {call.ok}, got {status} {body}"


def cases() -> list[Any]:
    found = []
    for call in CALLS:
        for w in WORKSPACES if call.in_workspace else WORKSPACES[:1]:
            place = f" in {w}" if call.in_workspace else ""
            found.append(pytest.param(call, w, id=f"{call.method} {call.route}{place}"))
    return found


@pytest.mark.parametrize(("call", "w"), cases())
def test_each_principal_gets_what_its_grants_allow(world: World, call: Call, w: str) -> None:
    wrong = {}
    for principal in PRINCIPALS:
        status, body = outcome(world, principal, call, w)
        problem = mismatch(principal, call, w, status, body)
        if problem:
            wrong[principal] = problem
    assert wrong == {}
