"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from projects.models import Project
from tests.processes import Server
from workspaces.models import Workspace


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
