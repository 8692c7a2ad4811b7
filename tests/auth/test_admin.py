"""Tokens and roles in the admin: a token made there shows its secret once, the revoke action
revokes, and a role grant needs a valid workspace pattern."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from projects import service_tokens
from projects.models import Project, RoleGrant, ServiceToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


def test_a_token_made_in_the_admin_shows_its_secret_once_and_is_revoked_there(admin_client):
    project = Project.objects.ensure("default")
    response = admin_client.post(
        "/admin/projects/servicetoken/add/",
        {"project": project.pk, "name": "deploy", "patterns": "prod, dev/*"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    token = ServiceToken.objects.get()
    change = f"/admin/projects/servicetoken/{token.pk}/change/"
    [secret] = re.findall(r"cflx_[0-9a-f]{40}", admin_client.get(change).content.decode())
    assert token.workspaces == ["prod", "dev/*"] and token.created_by == "user root"
    assert token.token_hash == service_tokens.hash_token(secret)
    assert secret not in admin_client.get(change).content.decode()  # shown once
    admin_client.post(
        "/admin/projects/servicetoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_role_grant_needs_a_valid_pattern(admin_client):
    user = User.objects.create_user("vera")
    response = admin_client.post(
        "/admin/projects/rolegrant/add/",
        {"role": "viewer", "workspaces": "Not a pattern!", "user": user.pk},
    )
    assert response.status_code == 200 and "Invalid workspace pattern" in response.content.decode()
    admin_client.post(
        "/admin/projects/rolegrant/add/", {"role": "viewer", "workspaces": "Dev/*", "user": user.pk}
    )
    assert RoleGrant.objects.get().workspaces == "dev/*"
