"""Safe defaults: a private data directory with a secret generated once, local host names
only, no framing, and Studio's own websocket open to its own pages only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest
from django.test import Client

from coflux_server import data_dir
from tests.processes import AUTH, Server

SQLITE = not os.environ.get("DATABASE_URL")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_secret_is_generated_once_readable_by_its_owner_only(tmp_path):
    first = data_dir.generated_secret(tmp_path, "secret")
    assert len(first) >= 32
    assert data_dir.generated_secret(tmp_path, "secret") == first
    assert mode(tmp_path / "secret") == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_the_data_directory_is_made_private(tmp_path):
    shared = tmp_path / "data"
    shared.mkdir(mode=0o755)
    data_dir.prepare(shared)
    assert mode(shared) == 0o700
    assert mode(data_dir.private_file(shared / "db")) == 0o600


@pytest.mark.e2e
def test_a_server_keeps_its_data_and_secret_private_across_restarts(tmp_path):
    server = Server(tmp_path / "data", COFLUX_SECRET="").start()
    try:
        secret = (tmp_path / "data" / "secret").read_text()
        assert mode(tmp_path / "data") == 0o700
        assert mode(tmp_path / "data" / "secret") == 0o600
        if SQLITE:
            assert mode(tmp_path / "data" / "coflux.sqlite3") == 0o600
        server.stop()
        server.start()
        assert (tmp_path / "data" / "secret").read_text() == secret
        # The server answers only to the host names it is given (local ones by default).
        forged = httpx.get(f"{server.url}/api/discover", headers={**AUTH, "Host": "evil.example"})
        assert forged.status_code == 400
    finally:
        server.close()


def test_the_defaults_name_local_hosts_and_forbid_framing(db, settings):
    assert "*" not in settings.ALLOWED_HOSTS
    assert {"localhost", "127.0.0.1"} <= set(settings.ALLOWED_HOSTS)
    assert settings.SECRET_KEY != "coflux-development-secret-change-me"
    response = Client(headers=AUTH).get("/api/discover")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert Client().get("/login/")["X-Frame-Options"] == "DENY"
