"""Fixtures of Studio's tests: a logged-in client for view tests, and for browser tests a real
server and worker with a logged-in Chromium page (see ``browser.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from projects.models import Role, RoleGrant
from tests.sample_targets import GREET

# The browser fixtures, for this directory's tests only (``pytest_plugins`` would load them for
# the whole suite).
from tests.studio.browser import (  # noqa: E402, F401
    chromium,
    logged_in_state,
    page,
    studio_server,
    studio_worker,
)
from workspaces.manifests import parse_manifests, register_manifests
from workspaces.models import Workspace

TYPED: dict[str, Any] = {
    "name": "typed",
    "type": "workflow",
    "parameters": [
        {"name": "text", "annotation": "str", "default": None},
        {"name": "count", "annotation": "int", "default": "3"},
        {"name": "ratio", "annotation": "float", "default": "0.5"},
        {"name": "loud", "annotation": "bool", "default": "false"},
        {"name": "mode", "annotation": "Literal['fast', 'slow']", "default": '"fast"'},
        {"name": "extra", "annotation": "dict[str, int] | None", "default": "null"},
    ],
    "instruction": "Typed parameters, **all** of them.\n\n<script>alert(1)</script>",
    "options": {"retries": {"limit": 2, "backoff_min_ms": 0, "backoff_max_ms": 0}},
}


@pytest.fixture
def user(db: None) -> User:
    """alice, an admin in every workspace."""
    alice = User.objects.create_user("alice", password="correct horse")
    RoleGrant.objects.create(user=alice, role=Role.ADMIN, workspaces="*")
    return alice


@pytest.fixture
def studio(client: Client, user: User) -> Client:
    """The Django test client, logged in."""
    client.force_login(user)
    return client


@pytest.fixture
def registered(workspace: Workspace) -> Workspace:
    """The default workspace, with ``app.flows/greet`` and ``app.flows/typed`` registered."""
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [GREET, TYPED]}}))
    return workspace
