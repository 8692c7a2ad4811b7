"""Routing inputs by their ``requires``: a person answers only inputs whose every key names a
group ``<key>:<value>`` they are in (a superuser any), on top of the ``respond`` grant; tokens
and anonymous callers are not people, and only their grants count."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects import principals
from projects.models import Role, RoleGrant, WorkerSession
from projects.permissions import meets_requires, principal_of_user, requires_in_words
from projects.tokens import create_token
from runs.inputs import may_answer
from runs.models import Input
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

TEAM = {"team": ["ops", "sre"]}


def person(name: str, *groups: str, role: str | None = Role.OPERATOR) -> User:
    user = User.objects.create_user(name)
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    if role is not None:
        RoleGrant.objects.create(user=user, role=role, workspaces="*")
    return User.objects.get(pk=user.pk)


def asked(workspace: Workspace, requires: dict[str, Any]) -> Input:
    return Input(id="Rtest1/i1", workspace=workspace, requires=requires)


def test_a_person_in_a_group_of_one_of_the_values_meets_a_key():
    assert meets_requires(person("ops", "team:ops"), TEAM)
    assert meets_requires(person("sre", "team:sre", "other"), TEAM)
    assert not meets_requires(person("dev", "team:dev", "ops"), TEAM)
    assert not meets_requires(person("nobody"), TEAM)


def test_every_key_must_be_met():
    requires = {"team": ["ops"], "region": ["eu", "us"]}
    assert meets_requires(person("both", "team:ops", "region:us"), requires)
    assert not meets_requires(person("team only", "team:ops"), requires)
    assert not meets_requires(person("region only", "region:eu"), requires)


def test_a_superuser_meets_any_requires():
    root = User.objects.create_superuser("root")
    assert meets_requires(root, {"team": ["ops"], "region": ["eu"]})
    assert meets_requires(principal_of_user(root), {"team": ["ops"]})


def test_no_requires_asks_nothing():
    nobody = person("nobody")
    for requires in (None, {}, {"team": []}):
        assert meets_requires(nobody, requires)
        assert requires_in_words(requires) == ""


def test_tokens_and_anonymous_callers_are_not_narrowed(project, workspace):
    token, _ = create_token(principals.super_principal(), project, "ci", ["*"])
    service = principals.for_service_token(token)
    session = WorkerSession.objects.create(project=project, workspace=workspace)
    for principal in (
        principals.super_principal(),
        service,
        principals.for_session(session),
        principals.anonymous(open_access=True),
    ):
        assert meets_requires(principal, TEAM), principal.name
    assert may_answer(service, asked(workspace, TEAM))
    # A worker session has no respond grant: routing adds nothing to what it lacks.
    assert not may_answer(principals.for_session(session), asked(workspace, TEAM))


def test_a_persons_principal_is_narrowed_like_the_person():
    member, other = person("ops", "team:ops"), person("dev", "team:dev")
    assert meets_requires(principals.for_user(member), TEAM)
    assert not meets_requires(principals.for_user(other), TEAM)


def test_answering_needs_the_respond_grant_and_the_groups(workspace):
    routed = asked(workspace, TEAM)
    assert may_answer(person("ops", "team:ops"), routed)
    assert not may_answer(person("dev", "team:dev"), routed)
    assert not may_answer(person("viewer", "team:ops", role=Role.VIEWER), routed)
    assert may_answer(person("anyone"), asked(workspace, {}))


def test_whom_an_input_is_for_in_words():
    assert requires_in_words({"team": ["ops"]}) == "team:ops"
    assert requires_in_words(TEAM) == "team:ops or team:sre"
    assert (
        requires_in_words({"team": ["ops", "sre"], "region": ["eu"]})
        == "(team:ops or team:sre) and region:eu"
    )


def test_a_users_groups_are_read_once_per_user_object():
    member = person("ops", "team:ops")
    principal_of_user(member)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert meets_requires(member, TEAM)
            assert not meets_requires(member, {"region": ["eu"]})
    assert len(queries) == 1
