"""The door of the API: what each kind of credential gets, the answers to those that fail,
CSRF for cookies only, the rate limit on failures, and what ``discover`` reports."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from projects import principals, service_tokens
from projects.models import Project, Role, RoleGrant, ServiceToken, WorkerSession
from projects.tokens import create_token, revoke_token
from tests.processes import AUTH
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

WORKSPACES = "/api/projects/default/workspaces"


@pytest.fixture
def project() -> Project:
    project = Project.objects.ensure("default")
    for name in ("prod", "prod/eu", "dev"):
        Workspace.objects.ensure(project, name)
    return project


def bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def token_for(project: Project, *patterns: str) -> tuple[str, str]:
    token, secret = create_token(principals.super_principal(), project, "t", list(patterns))
    return token.id, secret


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-token", "Bearer cflx_" + "0" * 40],
)
def test_a_request_without_a_valid_token_is_401(project, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = Client(headers=headers).get(WORKSPACES)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthorized" and body["message"]


def test_a_revoked_token_is_refused_from_the_next_request_on(project):
    token_id, secret = token_for(project, "*")
    assert bearer(secret).get(WORKSPACES).status_code == 200
    revoke_token(principals.super_principal(), project, token_id)
    assert bearer(secret).get(WORKSPACES).status_code == 401


def test_a_token_is_signed_for_its_project_with_the_servers_secret(project, settings):
    _, secret = token_for(project, "*")
    assert re.fullmatch(r"cflx_[0-9a-f]{40}", secret)
    assert service_tokens.is_signed(secret, settings.COFLUX_TOKEN_SECRET, "default")
    assert not service_tokens.is_signed(secret, settings.COFLUX_TOKEN_SECRET, "other")
    # Its hash alone is not enough: with another secret, the server refuses it.
    settings.COFLUX_TOKEN_SECRET = "another secret of the server"
    assert bearer(secret).get(WORKSPACES).status_code == 401
    assert ServiceToken.objects.filter(token_hash=service_tokens.hash_token(secret)).exists()
    assert not ServiceToken.objects.filter(token_hash=secret).exists()


def test_a_worker_sessions_token_is_its_workspace_only_and_ends_with_it(project):
    dev = Workspace.objects.get(name="dev")
    session, token = WorkerSession.objects.create_with_token(project=project, workspace=dev)
    client = bearer(token)
    assert client.get(f"{WORKSPACES}/dev/runs").status_code == 200
    refused = client.get(f"{WORKSPACES}/prod/runs")
    assert refused.status_code == 403
    assert refused.json()["details"] == {
        "workspace": "prod",
        "grant": "view",
        "principal": f"worker session {session.id}",
    }
    assert [w["name"] for w in client.get(WORKSPACES).json()["workspaces"]] == ["dev"]
    assert bearer(session.id).get(WORKSPACES).status_code == 401
    WorkerSession.objects.filter(pk=session.pk).update(expired_at=timezone.now())
    assert client.get(f"{WORKSPACES}/dev/runs").status_code == 401


def test_x_pattern_covers_x_itself_and_below(project):
    _, secret = token_for(project, "prod/*")
    client = bearer(secret)
    listed = [w["name"] for w in client.get(WORKSPACES).json()["workspaces"]]
    assert listed == ["prod", "prod/eu"]
    assert client.get(f"{WORKSPACES}/prod/eu/runs").status_code == 200
    assert client.get(f"{WORKSPACES}/PROD/runs").status_code == 200
    assert client.get(f"{WORKSPACES}/dev/runs").status_code == 403


def test_a_token_creates_tokens_only_within_its_own_patterns(project):
    _, secret = token_for(project, "prod/*")
    client = bearer(secret)

    def create(workspaces: Any) -> Any:
        body = {"name": "child", "workspaces": workspaces}
        return client.post("/api/projects/default/tokens", body, content_type="application/json")

    made = create("prod/eu, prod/us/*")
    assert made.status_code == 201
    assert made.json()["workspaces"] == ["prod/eu", "prod/us/*"]
    assert made.json()["token"].startswith("cflx_")
    for wider in (["*"], ["dev"], ["prod", "dev/*"]):
        refused = create(wider)
        assert refused.status_code == 403, wider
        assert refused.json()["details"]["grant"] == "administer"
    # It sees and revokes only tokens within its patterns; no listing shows a secret.
    token_for(project, "dev")
    listed = client.get("/api/projects/default/tokens").json()["tokens"]
    assert {tuple(t["workspaces"]) for t in listed} == {("prod/*",), ("prod/eu", "prod/us/*")}
    assert all("token" not in t for t in listed)


def test_without_required_auth_anonymous_callers_may_use_the_api_and_tokens_still_count(
    project, settings
):
    settings.COFLUX_REQUIRE_AUTH = False
    assert Client().get(WORKSPACES).status_code == 200
    assert Client().post(f"{WORKSPACES}/dev/pause", "{}", "application/json").status_code == 200
    assert bearer("cflx_" + "0" * 40).get(WORKSPACES).status_code == 401
    # Tokens are made by someone known.
    body = {"name": "t", "workspaces": "*"}
    response = Client().post("/api/projects/default/tokens", body, "application/json")
    assert response.status_code == 401


def operator() -> User:
    user = User.objects.create_user("olga", password="s3cret-enough")
    RoleGrant.objects.create(user=user, role=Role.OPERATOR, workspaces="*")
    return user


def test_with_studios_cookie_a_change_needs_the_csrf_token(project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator())
    assert client.get(WORKSPACES).status_code == 200
    refused = client.post(f"{WORKSPACES}/dev/pause", "{}", content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden" and "CSRF" in refused.json()["message"]
    client.get("/w/dev/")  # a Studio page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    allowed = client.post(
        f"{WORKSPACES}/dev/pause",
        "{}",
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert allowed.status_code == 200


def test_a_token_needs_no_csrf_token(project):
    client = Client(enforce_csrf_checks=True, headers=AUTH)
    assert client.post(f"{WORKSPACES}/dev/pause", "{}", "application/json").status_code == 200


def test_roles_come_from_a_users_groups_and_a_superuser_is_admin(project):
    group = Group.objects.create(name="ops")
    RoleGrant.objects.create(group=group, role=Role.OPERATOR, workspaces="dev")
    member = User.objects.create_user("gus")
    member.groups.add(group)
    client = Client()
    client.force_login(member)
    assert client.post(f"{WORKSPACES}/dev/pause", "{}", "application/json").status_code == 200
    assert client.post(f"{WORKSPACES}/prod/pause", "{}", "application/json").status_code == 403
    boss = User.objects.create_superuser("boss", password="x")
    client.force_login(boss)
    assert client.get("/api/projects/default/tokens").status_code == 200


class TestRateLimit:
    @pytest.fixture(autouse=True)
    def low_limit(self, settings: Any) -> None:
        settings.COFLUX_AUTH_FAILURE_LIMIT = 3

    def test_failed_tokens_lock_their_address_out_for_a_while(self, project):
        wrong = bearer("cflx_" + "1" * 40)
        assert [wrong.get(WORKSPACES).status_code for _ in range(3)] == [401] * 3
        # Past the limit even the right token is refused from there: a guess learns nothing.
        locked = Client(headers=AUTH).get(WORKSPACES)
        assert locked.status_code == 429
        assert locked.json()["error"] == "throttled"
        elsewhere = Client(headers=AUTH, REMOTE_ADDR="10.0.0.2").get(WORKSPACES)
        assert elsewhere.status_code == 200

    def test_failed_logins_lock_their_address_out_for_a_while(self, project):
        operator()
        client = Client()
        for _ in range(3):
            page = client.post("/login/", {"username": "olga", "password": "wrong"})
            assert page.status_code == 200 and "_auth_user_id" not in client.session
        page = client.post("/login/", {"username": "olga", "password": "s3cret-enough"})
        assert "Too many failed attempts" in page.content.decode()
        assert "_auth_user_id" not in client.session


class TestDiscover:
    def test_it_reports_the_callers_access(self, project):
        _, secret = token_for(project, "prod/*")
        access = bearer(secret).get("/api/discover").json()["access"]
        assert access["workspaces"] == ["prod/*"]
        assert access["principal"]["kind"] == "service"

    def test_a_mismatching_api_version_is_409(self, project):
        client = Client(headers=AUTH)
        refused = client.get("/api/discover", headers={"X-API-Version": "9"})
        assert refused.status_code == 409
        assert refused.json()["error"] == "version_mismatch"
        assert refused.json()["details"] == {"server": "0.1", "expected": "9"}
        assert client.get("/api/discover", headers={"X-API-Version": "0.1"}).status_code == 200
        assert client.get("/api/discover").status_code == 200

    def test_it_refuses_anonymous_callers(self, project):
        assert Client().get("/api/discover").status_code == 401


def test_a_service_token_holds_in_its_own_project_only(project):
    other = Project.objects.ensure("other")
    Workspace.objects.ensure(other, "dev")
    _, secret = token_for(project, "*")
    client = bearer(secret)
    assert client.get("/api/projects/other/workspaces").json()["workspaces"] == []
    refused = client.get("/api/projects/other/workspaces/dev/runs")
    assert refused.status_code == 403
    assert client.get(f"{WORKSPACES}/dev/runs").status_code == 200
