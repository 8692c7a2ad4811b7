"""Helpers of the REST API tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.processes import AUTH
from tests.sample_targets import GREET
from workspaces.manifests import parse_manifests, register_manifests
from workspaces.models import Workspace


class Api:
    """The Django test client, speaking JSON."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def post(self, path: str, body: Any = None) -> Any:
        data = json.dumps(body) if body is not None else ""
        return self.client.post(path, data, content_type="application/json")

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def client() -> Client:
    """The Django test client, as the super token."""
    return Client(headers=AUTH)


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


@pytest.fixture
def registered(workspace: Workspace) -> Workspace:
    """The default workspace, with ``app.flows/greet`` registered."""
    register_manifests(workspace, parse_manifests({"modules": {"app.flows": [GREET]}}))
    return workspace
