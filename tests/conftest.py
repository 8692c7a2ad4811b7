"""Fixtures shared by the whole suite."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from projects.models import Project
from workspaces.models import Workspace

ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 60.0


@pytest.fixture
def project(db: None) -> Project:
    return Project.objects.ensure("default")


@pytest.fixture
def workspace(project: Project) -> Workspace:
    return Workspace.objects.ensure(project, "default")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _server_database(env: dict[str, str]) -> Iterator[None]:
    """On PostgreSQL, give the server a fresh database of its own for the session."""
    url = env.get("DATABASE_URL")
    if not url:
        yield
        return
    import psycopg

    parts = urlsplit(url)
    name = f"test_cli_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/discover", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"the server did not answer within {SERVER_START_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server (``manage.py serve``) on a free port, with its own data directory.

    It uses SQLite in that directory, or with ``DATABASE_URL`` set a fresh PostgreSQL database
    that is dropped afterwards. Its output is in ``server.log`` of the data directory.
    """
    data_dir = tmp_path_factory.mktemp("server")
    env = {
        **os.environ,
        "COFLUX_DATA_DIR": str(data_dir),
        "COFLUX_PROJECT": "default",
        "PYTHONUNBUFFERED": "1",
    }
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    with _server_database(env), log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
