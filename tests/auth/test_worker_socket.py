"""The worker websocket's door, against a real server: who may connect, into which workspace,
as which session, and that a connection acts only on what its session runs.

The principals are those of the HTTP matrix that a worker can present (Studio's people do not
connect workers); the workspaces ``prod/app`` and ``dev``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.auth.sockets import FakeWorker, value
from tests.processes import AUTH, ROOT, SUPER_TOKEN, Server, wait_until
from tests.sample_targets import GREET

pytestmark = pytest.mark.e2e

WORKSPACES = ("prod/app", "dev")
OPERATE_IN = {
    "super token": {"prod/app", "dev"},
    "service token prod/*": {"prod/app"},
    "service token dev": {"dev"},
    "worker session of dev": {"dev"},
}
UNAUTHENTICATED = ("anonymous", "wrong token", "revoked token")


class Setup:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.tokens: dict[str, str | None] = {"anonymous": None, "super token": SUPER_TOKEN}
        self.tokens["wrong token"] = "cflx_" + "0" * 40
        for name, patterns in [
            ("service token prod/*", ["prod/*"]),
            ("service token dev", ["dev"]),
            ("revoked token", ["*"]),
        ]:
            created = self.api("POST", "/tokens", {"name": name, "workspaces": patterns})
            self.tokens[name] = created["token"]
            self.tokens[f"{name}:id"] = created["id"]
        self.api("POST", f"/tokens/{self.tokens['revoked token:id']}/revoke", {})
        for workspace in WORKSPACES:
            manifests = {"modules": {"app.flows": [GREET]}}
            self.api("POST", f"/workspaces/{workspace}/manifests", manifests)
        # The dev session's own connection stays open, so that the session lives on.
        self.dev_owner = FakeWorker(server, self.tokens["service token dev"])
        welcome = self.dev_owner.say_hello("dev")
        self.tokens["worker session of dev"] = welcome["token"]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        response = self.server.api(method, path, json=body)
        assert response.status_code < 300, response.text
        return response.json()

    def submit(self, workspace: str) -> str:
        body = {"module": "app.flows", "target": "greet", "arguments": ["ada"]}
        return self.api("POST", f"/workspaces/{workspace}/runs", body)["runId"]

    def run(self, run_id: str) -> dict[str, Any]:
        return self.api("GET", f"/runs/{run_id}")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    server = Server(tmp_path_factory.mktemp("sockets"), COFLUX_AUTH_FAILURE_LIMIT="100000").start()
    made = Setup(server)
    try:
        yield made
    finally:
        made.dev_owner.close()
        server.close()


@pytest.mark.parametrize("principal", UNAUTHENTICATED)
def test_a_connection_without_valid_credentials_is_refused_at_once(setup: Setup, principal):
    worker = FakeWorker(setup.server, setup.tokens[principal])
    error, code = worker.refusal()
    assert (error["type"], error["error"], code) == ("error", "unauthorized", 4001)


@pytest.mark.parametrize("workspace", WORKSPACES)
@pytest.mark.parametrize("principal", sorted(OPERATE_IN))
def test_a_hello_is_let_into_the_workspaces_the_principal_may_operate(
    setup: Setup, principal: str, workspace: str
):
    worker = FakeWorker(setup.server, setup.tokens[principal])
    session = setup.tokens[principal] if principal == "worker session of dev" else None
    try:
        reply = worker.say_hello(workspace, session)
        if workspace in OPERATE_IN[principal]:
            assert reply["type"] == "welcome", reply
        else:
            assert reply["error"] == "forbidden", reply
            assert repr(workspace) in reply["message"] and "'operate'" in reply["message"]
    finally:
        worker.close()


def test_a_session_token_resumes_only_its_own_session(setup: Setup):
    worker = FakeWorker(setup.server, setup.tokens["worker session of dev"])
    reply = worker.say_hello("dev", None)
    assert reply["error"] == "forbidden" and "its own session" in reply["message"]


def test_a_hello_naming_another_workers_session_without_its_secret_is_refused(setup: Setup):
    session_id = setup.tokens["worker session of dev"].split(".")[0]
    for named in (session_id, f"{session_id}.not-the-secret"):
        worker = FakeWorker(setup.server, SUPER_TOKEN)
        try:
            assert worker.say_hello("dev", named)["error"] == "session_invalid"
        finally:
            worker.close()
    # A token of prod/* may not take the dev session over even with its whole token.
    worker = FakeWorker(setup.server, setup.tokens["service token prod/*"])
    assert worker.say_hello("dev", setup.tokens["worker session of dev"])["error"] == "forbidden"


def test_every_message_before_the_welcome_is_refused(setup: Setup):
    worker = FakeWorker(setup.server, SUPER_TOKEN)
    try:
        for message in messages_about("Rnone:1:1", "Rnone:1:1"):
            worker.send(message)
            assert worker.next()["error"] == "not_ready", message["type"]
    finally:
        worker.close()


def messages_about(execution: str, own: str) -> list[dict[str, Any]]:
    """One message of each kind a worker sends after its hello, about ``execution`` (on behalf
    of ``own``, where a message names both)."""
    return [
        {"type": "started", "execution": execution},
        {
            "type": "submit",
            "ref": "s1",
            "parent": execution,
            "module": "app.flows",
            "target": "greet",
            "target_type": "workflow",
            "arguments": [value("x")],
            "options": {},
            "group": None,
            "wait": False,
        },
        {
            "type": "submit_input",
            "ref": "i1",
            "execution": execution,
            "template": "Deploy?",
            "placeholders": {},
        },
        {"type": "wait", "execution": execution, "targets": [own], "reply": True},
        {"type": "cancel", "execution": own, "targets": [execution]},
        {"type": "cancel", "execution": execution, "targets": [execution]},
        {"type": "result", "execution": execution, "result": {"type": "value", "value": value(1)}},
        {"type": "log", "execution": execution, "entries": [[1700000000000, 2, "forged", {}]]},
        {
            "type": "metric",
            "execution": execution,
            "definitions": [{"key": "forged"}],
            "points": [["forged", 1, 0]],
        },
        {"type": "heartbeat", "executions": [execution]},
        {"type": "waiting", "execution": execution, "waiting": True},
        {"type": "declined", "execution": execution},
    ]


def test_a_session_acts_only_on_what_it_runs(setup: Setup):
    """Every message kind, from the dev session, about an execution the prod worker runs:
    none changes it (refused with an error where the protocol has one)."""
    prod = FakeWorker(setup.server, setup.tokens["service token prod/*"])
    dev = FakeWorker(setup.server, setup.tokens["worker session of dev"])
    try:
        assert prod.say_hello("prod/app")["type"] == "welcome"
        assert dev.say_hello("dev", setup.tokens["worker session of dev"])["type"] == "welcome"
        prod_run, dev_run = setup.submit("prod/app"), setup.submit("dev")
        theirs = prod.next_of("execute")["execution"]
        mine = dev.next_of("execute")["execution"]
        assert (theirs, mine) == (f"{prod_run}:1:1", f"{dev_run}:1:1")
        before = setup.run(prod_run)
        for message in messages_about(theirs, mine):
            dev.send(message)
        replies = dev.quiet(2)
        refused = {r.get("execution") for r in replies if r["type"] == "error"}
        assert refused >= {theirs}
        assert not [r for r in replies if r["type"] in ("submitted", "input_submitted")]
        after = setup.run(prod_run)
        assert after == before
        assert setup.api("GET", f"/runs/{prod_run}/logs")["logs"] == []
        assert setup.api("GET", f"/runs/{prod_run}/metrics")["executions"] == []
        inputs = setup.api("GET", "/workspaces/prod/app/inputs")["inputs"]
        assert [i for i in inputs if i["runId"] == prod_run] == []
        # The prod worker still holds its execution: its result is taken.
        result = {"type": "value", "value": value("mine")}
        prod.send({"type": "result", "execution": theirs, "result": result})
        outcome = setup.api("GET", f"/runs/{prod_run}/result?wait=10")
        assert outcome["status"] == "succeeded"
        assert outcome["result"]["value"]["data"] == "mine"
    finally:
        prod.close()
        dev.close()


def test_the_same_messages_about_its_own_execution_are_taken(setup: Setup):
    dev = FakeWorker(setup.server, setup.tokens["worker session of dev"])
    try:
        assert dev.say_hello("dev", setup.tokens["worker session of dev"])["type"] == "welcome"
        run_id = setup.submit("dev")
        mine = dev.next_of("execute")["execution"]
        dev.send({"type": "log", "execution": mine, "entries": [[1700000000000, 2, "hi", {}]]})
        dev.send(messages_about(mine, mine)[2])  # submit_input
        assert dev.next_of("input_submitted")["ref"] == "i1"
        wait_until(lambda: setup.api("GET", f"/runs/{run_id}/logs")["logs"], timeout=10)
    finally:
        dev.close()


def create_project(server: Server, name: str) -> None:
    code = f"from projects.models import Project; Project.objects.ensure({name!r})"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
    )


def test_a_wait_never_reaches_another_projects_execution(setup: Setup):
    create_project(setup.server, "other")
    other = httpx.Client(base_url=f"{setup.server.url}/api/projects/other", headers=AUTH)
    manifests = {"modules": {"app.flows": [GREET]}}
    assert other.post("/workspaces/dev/manifests", json=manifests).status_code == 200
    prod = FakeWorker(setup.server, SUPER_TOKEN)
    there = FakeWorker(setup.server, SUPER_TOKEN, project="other")
    try:
        assert prod.say_hello("prod/app")["type"] == "welcome"
        assert there.say_hello("dev")["type"] == "welcome"
        prod_run = setup.submit("prod/app")
        theirs = prod.next_of("execute")["execution"]
        secret = {"type": "value", "value": value("secret")}
        prod.send({"type": "result", "execution": theirs, "result": secret})
        assert setup.api("GET", f"/runs/{prod_run}/result?wait=10")["status"] == "succeeded"
        body = {"module": "app.flows", "target": "greet", "arguments": ["x"]}
        response = other.post("/workspaces/dev/runs", json=body)
        assert response.status_code == 201, response.text
        mine = there.next_of("execute")["execution"]
        there.send({"type": "wait", "execution": mine, "targets": [theirs], "reply": True})
        replies = there.quiet(2)
        assert [r["error"] for r in replies if r["type"] == "error"] == ["unknown_execution"]
        assert not [r for r in replies if r["type"] == "resolved"]
    finally:
        prod.close()
        there.close()
        other.close()


def test_revoking_a_token_closes_its_connections(setup: Setup):
    created = setup.api("POST", "/tokens", {"name": "short-lived", "workspaces": ["dev"]})
    worker = FakeWorker(setup.server, created["token"])
    assert worker.say_hello("dev")["type"] == "welcome"
    setup.api("POST", f"/tokens/{created['id']}/revoke", {})
    error, code = worker.refusal()
    assert (error["error"], code) == ("unauthorized", 4001)
    again = FakeWorker(setup.server, created["token"])
    assert again.refusal()[0]["error"] == "unauthorized"


def test_a_page_of_another_site_may_not_open_the_socket(setup: Setup):
    worker = FakeWorker(setup.server, SUPER_TOKEN, origin="https://evil.example")
    error, code = worker.refusal()
    assert (error["error"], code) == ("forbidden", 4003)
    same = FakeWorker(setup.server, SUPER_TOKEN, origin=f"http://{setup.server.host}")
    try:
        assert same.say_hello("dev")["type"] == "welcome"
    finally:
        same.close()


def test_without_required_auth_an_anonymous_worker_connects_and_tokens_still_count(tmp_path):
    server = Server(tmp_path / "open", COFLUX_REQUIRE_AUTH="false").start()
    try:
        worker = FakeWorker(server, None)
        try:
            assert worker.say_hello("dev")["type"] == "welcome"
        finally:
            worker.close()
        error, code = FakeWorker(server, "cflx_" + "3" * 40).refusal()
        assert (error["error"], code) == ("unauthorized", 4001)
    finally:
        server.close()
