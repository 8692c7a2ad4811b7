"""People for tests that act as a logged-in Studio user (in Studio or through the API)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.test import Client

from projects.models import Role, RoleGrant


def operator_client(name: str, *groups: str) -> Client:
    """A client logged in as a new user ``name``, an operator everywhere, in ``groups``."""
    user = User.objects.create_user(name)
    RoleGrant.objects.create(user=user, role=Role.OPERATOR, workspaces="*")
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    client = Client()
    client.force_login(user)
    return client
