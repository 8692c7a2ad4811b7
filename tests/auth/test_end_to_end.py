"""Tokens end to end, with a real server, the ``coflux`` CLI and a real worker: a service token
made with ``coflux tokens``, used by the worker and the CLI within its patterns and refused
beyond them with a message saying why; revoking it stops the worker; the secrets never reach
a log. And the cross-site form post the issue found, refused."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import ROOT, SUPER_TOKEN, Server, cli_env, wait_until

pytestmark = pytest.mark.e2e

MODULE = "tests.e2e.flows.app"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("tokens")).start()
    yield server
    server.close()


def coflux(server: Server, *args: str, token: str | None, cwd: Path = ROOT, **env: str):
    environment = {**cli_env(server), **env}
    environment.pop("COFLUX_TOKEN")
    if token is not None:
        environment["COFLUX_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "coflux", *args],
        cwd=cwd,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


class Running:
    def __init__(self, server: Server, token: str, workspace: str, log: Path) -> None:
        env = {**cli_env(server), "COFLUX_TOKEN": token}
        self.log = log
        with open(log, "w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "coflux", "worker", "--register", "-w", workspace, MODULE],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def created(server: Server, *args: str) -> dict[str, Any]:
    made = coflux(server, "tokens", "create", *args, "-o", "json", token=SUPER_TOKEN)
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)


def test_a_service_token_runs_workers_and_the_cli_within_its_workspaces(server, tmp_path):
    token = created(server, "--name", "ci", "--workspaces", "prod,dev/*")
    assert re.fullmatch(r"cflx_[0-9a-f]{40}", token["token"]) and token["id"]
    assert token["workspaces"] == ["prod", "dev/*"]
    listed = coflux(server, "tokens", "list", "-o", "json", token=SUPER_TOKEN)
    [shown] = [t for t in json.loads(listed.stdout)["tokens"] if t["id"] == token["id"]]
    assert "token" not in shown and token["token"] not in listed.stdout

    worker = Running(server, token["token"], "dev/ci", tmp_path / "worker.log")
    try:
        wait_until(
            lambda: server.api("GET", "/workspaces/dev/ci/manifests").json().get("modules"),
            timeout=60,
            message=f"the worker registers its workflows: {worker.log}",
        )
        submitted = coflux(
            server,
            "submit",
            f"{MODULE}/hello",
            '"ci"',
            "-w",
            "dev/ci",
            "-o",
            "json",
            token=token["token"],
        )
        assert submitted.returncode == 0, submitted.stderr + worker.output()
        assert "Hello, ci" in submitted.stdout

        beyond = coflux(server, "workspaces", "pause", "-w", "staging", token=token["token"])
        assert beyond.returncode == 1
        assert "forbidden:" in beyond.stderr and "'staging'" in beyond.stderr
        assert "'operate'" in beyond.stderr

        revoked = coflux(server, "tokens", "revoke", token["id"], token=SUPER_TOKEN)
        assert revoked.returncode == 0, revoked.stderr
        wait_until(lambda: worker.process.poll() is not None, timeout=30, message="stop")
        assert worker.process.returncode != 0
        assert "unauthorized" in worker.output() and "revoked" in worker.output()
        refused = coflux(server, "workspaces", "list", token=token["token"])
        assert refused.returncode == 1 and "unauthorized:" in refused.stderr
    finally:
        worker.kill()
    for log in (server.log, worker.log):
        text = log.read_text()
        assert token["token"] not in text and SUPER_TOKEN not in text


def test_the_cli_reads_its_token_from_coflux_toml_and_says_when_it_has_none(server, tmp_path):
    token = created(server, "--name", "file", "--workspaces", "*")
    host = server.host
    (tmp_path / "coflux.toml").write_text(f'host = "{host}"\ntoken = "{token["token"]}"\n')
    listed = coflux(server, "workspaces", "list", token=None, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (tmp_path / "coflux.toml").write_text(f'host = "{host}"\n')
    refused = coflux(server, "workspaces", "list", token=None, cwd=tmp_path)
    assert refused.returncode == 1
    assert "none is configured" in refused.stderr and "COFLUX_TOKEN" in refused.stderr


def test_a_worker_without_a_valid_token_stops_and_says_why(server, tmp_path):
    worker = Running(server, "cflx_" + "2" * 40, "dev", tmp_path / "worker.log")
    try:
        wait_until(lambda: worker.process.poll() is not None, timeout=60, message="stop")
    finally:
        worker.kill()
    assert worker.process.returncode != 0
    assert "unauthorized" in worker.output()


def test_a_cross_site_form_post_is_refused(server):
    """A page of another site posts a form to the API with the browser's Studio cookie: the
    post is refused, and the workspace it aims at stays."""
    create = server.api("POST", "/workspaces", json={"name": "target"})
    assert create.status_code == 201
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CREATE_USER],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
    )
    assert made.returncode == 0
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        login = browser.get("/login/")
        csrf = browser.cookies["csrftoken"]
        logged_in = browser.post(
            "/login/",
            data={"username": "eve-victim", "password": PASSWORD, "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{server.url}/login/"},
        )
        assert login.status_code == 200 and logged_in.status_code == 302
        for path in (
            "/api/projects/default/workspaces/target/archive",
            "/w/target/archive",
        ):
            forged = browser.post(
                path,
                content=b"",
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": "https://evil.example",
                },
            )
            assert forged.status_code == 403, (path, forged.text[:300])
    names = [w["name"] for w in server.api("GET", "/workspaces").json()["workspaces"]]
    assert "target" in names


PASSWORD = "correct horse battery"
CREATE_USER = (
    "from django.contrib.auth.models import User\n"
    "from projects.models import Role, RoleGrant\n"
    f"user = User.objects.create_user('eve-victim', password={PASSWORD!r})\n"
    "RoleGrant.objects.create(user=user, role=Role.OPERATOR, workspaces='*')\n"
)
