"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from projects import throttle
from projects.models import Project
from tests.processes import SUPER_TOKEN_HASH, Server
from workspaces.models import Workspace


@pytest.fixture(autouse=True)
def super_token(settings: Any) -> Iterator[None]:
    """In-process requests may use the test super token (``tests.processes.AUTH``), and no
    test inherits another's failed attempts."""
    settings.COFLUX_SUPER_TOKEN_HASH = SUPER_TOKEN_HASH
    yield
    throttle.forget()


@pytest.fixture
def project(db: None) -> Project:
    return Project.objects.ensure("default")


@pytest.fixture
def workspace(project: Project) -> Workspace:
    return Workspace.objects.ensure(project, "default")


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server (``manage.py serve``) on a free port, with its own data directory.

    It uses SQLite in that directory, or with ``DATABASE_URL`` set a fresh PostgreSQL database
    that is dropped afterwards. Its output is in ``server.log`` of the data directory.
    """
    server = Server(tmp_path_factory.mktemp("server")).start()
    try:
        yield server.url
    finally:
        server.close()
