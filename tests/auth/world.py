"""A project with something of everything in two workspaces, ``prod/app`` and ``dev``, and the
principals of the authorization matrix: who may do what to it.

Everything is made through the real domain code and a real orchestrator, ticked in this
thread: each workspace has a worker session (whose token is a principal), a workflow
registered, a run assigned to that session, an input the run asks, an asset it made and a
pool. The API's commands to the orchestrator reach that same orchestrator in process.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from assets.blobs import store_blob
from assets.models import Asset
from coflux_wire import protocol
from projects import principals
from projects.errors import Code, DomainError
from projects.models import Project, Role, RoleGrant, WorkerSession
from projects.tokens import create_token, revoke_token
from runs.models import Execution
from runs.orchestration.bus import REPLY_PREFIX
from runs.orchestration.orchestrator import Orchestrator
from runs.submission import submit_run
from runs.values import from_plain_json
from tests.processes import AUTH
from tests.sample_targets import GREET
from workspaces.manifests import parse_manifests, register_manifests
from workspaces.models import Workspace
from workspaces.pools import create_pool

WORKSPACES = ("prod/app", "dev")
PRINCIPALS = (
    "anonymous",
    "wrong token",
    "revoked token",
    "super token",
    "service token prod/*",
    "service token dev",
    "worker session of dev",
    "studio viewer",
    "studio operator",
    "studio viewer of dev",
)
BLOB = b"a blob of the matrix\n"
BLOB_KEY = hashlib.sha256(BLOB).hexdigest()
T = TypeVar("T")


@dataclass
class Place:
    """What ``World`` made in one workspace."""

    workspace: Workspace
    session: WorkerSession
    session_token: str
    run_id: str
    execution_id: str
    input_id: str
    asset_id: str
    pool: str = "builders"


@dataclass
class World:
    project: Project
    orchestrator: Orchestrator
    places: dict[str, Place] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    """Service token secrets and their IDs by name (``<name>`` and ``<name>:id``); ``token for
    <workspace>`` covers just that workspace (one to revoke)."""
    users: dict[str, User] = field(default_factory=dict)

    def call(self, project_id: int, command: dict[str, Any]) -> dict[str, Any]:
        """The orchestrator's answer to a command, as ``projects.mailbox`` would give it."""
        outbox = self.orchestrator.tick([{"kind": "command", "command": command, "reply_to": "t"}])
        [reply] = [message for channel, message in outbox if channel == REPLY_PREFIX + "t"]
        if not reply["ok"]:
            raise DomainError(reply["message"], code=Code(reply["error"]))
        return reply

    def reload(self) -> None:
        """Rebuild what the orchestrator holds from the database (after a rollback)."""
        self.orchestrator.reload()

    def rolled_back(self, act: Callable[[], T]) -> T:
        """What ``act`` returns, done in a savepoint that is then rolled back (and the
        orchestrator reloaded), so that a request that archives or deletes changes nothing
        that the next one finds."""
        with transaction.atomic():
            answer = act()
            transaction.set_rollback(True)
        self.reload()
        return answer

    def client(self, principal: str) -> Client:
        """A test client speaking as ``principal``."""
        if principal == "anonymous":
            return Client()
        if principal.startswith("studio "):
            client = Client()
            client.force_login(self.users[principal])
            return client
        return Client(headers={"Authorization": f"Bearer {self.credential(principal)}"})

    def credential(self, principal: str) -> str:
        if principal == "super token":
            return AUTH["Authorization"].removeprefix("Bearer ")
        if principal == "wrong token":
            return "cflx_" + "0" * 40
        if principal == "worker session of dev":
            return self.places["dev"].session_token
        return self.tokens[principal]


def _hello(workspace: str) -> dict[str, Any]:
    target = {"module": "app.flows", "name": "greet", "type": "workflow"}
    return {
        "type": "hello",
        "protocol": protocol.VERSION,
        "workspace": workspace,
        "session": None,
        "concurrency": 0,
        "provides": {},
        "accepts": {},
        "targets": [target],
    }


def _place(world: World, name: str) -> Place:
    workspace = Workspace.objects.ensure(world.project, name)
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [GREET]}}))
    channel = f"worker-{name}"
    outbox = world.orchestrator.tick(
        [{"kind": "connect", "channel": channel, "hello": _hello(name)}]
    )
    [welcome] = [m for _, m in outbox if m["type"] == "welcome"]
    execution = submit_run(workspace, "app.flows", "greet", [from_plain_json("ada")])
    world.orchestrator.tick([{"kind": "wake"}])
    asked = {
        "type": "submit_input",
        "ref": "1",
        "execution": execution.id,
        "template": "Deploy?",
        "placeholders": {},
    }
    outbox = world.orchestrator.tick(
        [{"kind": "message", "session": welcome["session"], "channel": channel, "message": asked}]
    )
    [submitted] = [m for _, m in outbox if m["type"] == "input_submitted"]
    asset = Asset.objects.record(
        world.project,
        name="report",
        execution=Execution.objects.get(pk=execution.id),
        entries={"a.txt": {"blob_key": BLOB_KEY, "size": len(BLOB), "metadata": {}}},
    )
    create_pool(workspace, "builders", "process", modules=["app.flows"])
    return Place(
        workspace=workspace,
        session=WorkerSession.objects.get(pk=welcome["session"]),
        session_token=welcome["token"],
        run_id=execution.step.run_id,
        execution_id=execution.id,
        input_id=submitted["input"],
        asset_id=asset.id,
    )


def url_routes(patterns: list[Any] | None = None, prefix: str = "") -> list[str]:
    """Every route the URL resolver knows (below ``patterns``), as ``path()`` spells them."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += url_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append(prefix + str(pattern.pattern))
    return found


def make_world(monkeypatch: pytest.MonkeyPatch, settings: Any, data_dir: Path) -> World:
    """The world, its blobs under ``data_dir`` (a directory of the test's)."""
    settings.DATA_DIR = data_dir
    settings.COFLUX_LAUNCHER_TYPES = ["process"]
    project = Project.objects.ensure("default")
    world = World(project, Orchestrator(project.id))
    world.orchestrator.load()
    for module in ("runs.inputs", "runs.control", "workspaces.actions"):
        monkeypatch.setattr(f"{module}.call_orchestrator", lambda p, c: world.call(p, c))
    store_blob(BLOB_KEY, io.BytesIO(BLOB).read, len(BLOB) + 1)
    for name in WORKSPACES:
        world.places[name] = _place(world, name)
    root = principals.super_principal()
    for name, patterns in [
        ("service token prod/*", ["prod/*"]),
        ("service token dev", ["dev"]),
        ("revoked token", ["*"]),
    ]:
        token, secret = create_token(root, project, name, patterns)
        world.tokens[name] = secret
        world.tokens[f"{name}:id"] = token.id
    revoke_token(root, project, world.tokens["revoked token:id"])
    for name in WORKSPACES:
        token, _ = create_token(root, project, f"for {name}", [name])
        world.tokens[f"token for {name}:id"] = token.id

    for name, role, pattern in [
        ("studio viewer", Role.VIEWER, "*"),
        ("studio operator", Role.OPERATOR, "*"),
        ("studio viewer of dev", Role.VIEWER, "dev"),
    ]:
        user = User.objects.create_user(name.replace(" ", "-"))
        RoleGrant.objects.create(user=user, role=role, workspaces=pattern)
        world.users[name] = user
    return world
