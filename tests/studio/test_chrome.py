"""Studio's chrome and the workspace actions: login, headers, the workspace tree, the sidebar,
Go to…, creating, pausing and resuming workspaces."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from projects.models import Role, RoleGrant, WorkerSession
from runs.models import Execution
from runs.submission import submit_run
from runs.values import from_plain_json
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"


def test_it_requires_a_login(client: Client, workspace: Workspace) -> None:
    for url in ["/", "/w/default/", "/w/default/workers", "/w/default/queue"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_it_logs_in_with_username_and_password(client: Client, user: User, workspace) -> None:
    page = client.get("/login/")
    assert b'name="username"' in page.content and b'name="password"' in page.content

    refused = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert refused.status_code == 200
    assert b"correct username and password" in refused.content

    accepted = client.post("/login/", {"username": "alice", "password": "correct horse"})
    assert accepted.status_code == 302
    assert client.get(accepted["Location"]).status_code == 302  # home → the default workspace
    assert client.get("/w/default/").status_code == 200


def test_it_logs_out_with_a_post(studio: Client, workspace) -> None:
    response = studio.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert studio.get("/w/default/").status_code == 302


def test_pages_carry_a_strict_policy_and_refuse_framing(studio: Client, workspace) -> None:
    response = studio.get("/w/default/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    html = response.content.decode()
    # No inline script or style anywhere: every <script> has a src, no style attributes.
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert "hx-on" not in html
    assert '"allowEval": false' in html


def test_home_opens_the_default_workspace(studio: Client, project) -> None:
    Workspace.objects.create(project=project, name="alpha")
    assert studio.get("/")["Location"] == "/w/alpha/"
    Workspace.objects.create(project=project, name="default")
    assert studio.get("/")["Location"] == "/w/default/"


def test_home_without_workspaces_offers_to_create_one(studio: Client, project) -> None:
    response = studio.get("/")
    assert response.status_code == 200
    assert b"No workspaces yet" in response.content
    assert b'action="/workspaces/new"' in response.content


def test_the_switcher_draws_the_inheritance_tree(studio: Client, workspace, project) -> None:
    dev = Workspace.objects.create(project=project, name="dev", base=workspace)
    Workspace.objects.create(project=project, name="dev/alice", base=dev)
    Workspace.objects.create(project=project, name="old", state=Workspace.State.ARCHIVED)
    html = studio.get("/w/dev/alice/").content.decode()
    tree = html[
        html.index('<ul class="tree"') : html.index("</ul>", html.index('<ul class="tree"'))
    ]
    assert tree.index(">default<") < tree.index(">dev<") < tree.index(">dev/alice<")
    assert 'class="depth-1' in tree and 'class="depth-2 current' in tree
    assert tree.count("↳") == 2
    assert "old" not in tree
    assert 'href="/w/dev/alice/"' in tree


def test_workspace_names_with_slashes_reach_their_pages(studio: Client, project) -> None:
    Workspace.objects.create(project=project, name="team/workers")
    Workspace.objects.create(project=project, name="team")
    assert studio.get("/w/team/workers/").context["workspace"].name == "team/workers"
    assert studio.get("/w/team/workers").context["workspace"].name == "team"
    assert studio.get("/w/team/workers/workers").context["workspace"].name == "team/workers"
    assert studio.get("/w/nothing/").status_code == 404


def test_the_sidebar_counts_running_and_queued_per_target(
    studio: Client, registered, django_assert_max_num_queries
) -> None:
    for _ in range(3):
        submit_run(registered, "app.flows", "greet", [from_plain_json("x")])
    running = submit_run(registered, "app.flows", "typed", [from_plain_json("y")])
    Execution.objects.filter(pk=running.pk).update(state="assigned")
    WorkerSession.objects.create(
        project=registered.project,
        workspace=registered,
        connected=True,
        targets=[{"module": "app.tasks", "name": "resize", "type": "task"}],
    )
    response = studio.get("/w/default/workers")
    modules = {m.name: m for m in response.context["sidebar"]}
    assert set(modules) == {"app.flows", "app.tasks"}
    flows = {t.name: (t.running, t.queued) for t in modules["app.flows"].workflows}
    assert flows == {"greet": (0, 3), "typed": (1, 0)}
    assert [t.name for t in modules["app.tasks"].tasks] == ["resize"]
    html = response.content.decode()
    assert 'title="3 queued"' in html and 'title="1 running"' in html

    # More modules and runs cost no more queries.
    for n in range(5):
        WorkerSession.objects.create(
            project=registered.project,
            workspace=registered,
            connected=True,
            targets=[{"module": f"more.m{n}", "name": "t", "type": "task"}],
        )
        submit_run(registered, "app.flows", "greet", [from_plain_json("x")])
    with django_assert_max_num_queries(14):
        assert studio.get("/w/default/workers").status_code == 200


def test_go_to_finds_modules_targets_and_runs(studio: Client, registered) -> None:
    execution = submit_run(registered, "app.flows", "greet", [from_plain_json("x")])
    run_id = execution.id.split(":")[0]
    partial = studio.get("/w/default/goto", {"q": "typ"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    html = partial.content.decode()
    assert html.lstrip().startswith('<ul id="goto-results"')
    assert 'href="/w/default/workflows/app.flows/typed"' in html
    assert "greet" not in html

    runs = studio.get("/w/default/goto", {"q": f"{run_id}:1:1"}, HTTP_HX_REQUEST="true")
    assert f'href="/runs/{run_id}?step=1&amp;attempt=1"' in runs.content.decode()
    # Without JS the form lands on the one result.
    direct = studio.get("/w/default/goto", {"q": run_id})
    assert direct.status_code == 302 and direct["Location"] == f"/runs/{run_id}"

    nothing = studio.get("/w/default/goto", {"q": XSS}, HTTP_HX_REQUEST="true")
    assert XSS not in nothing.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in nothing.content.decode()


def test_it_creates_a_workspace_on_a_base(studio: Client, workspace) -> None:
    response = studio.post("/workspaces/new", {"name": "dev/bob", "base": "default"})
    assert response.status_code == 302 and response["Location"] == "/w/dev/bob/"
    created = Workspace.objects.get(name="dev/bob")
    assert created.base == workspace
    assert "Workspace “dev/bob” created." in studio.get("/w/dev/bob/").content.decode()


def test_a_refused_name_is_reported_inert(studio: Client, workspace) -> None:
    response = studio.post(
        "/workspaces/new", {"name": XSS, "base": ""}, HTTP_REFERER="http://testserver/w/default/"
    )
    assert response.status_code == 302 and response["Location"] == "http://testserver/w/default/"
    html = studio.get("/w/default/").content.decode()
    assert "Invalid workspace name" in html
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not Workspace.objects.filter(name=XSS).exists()

    studio.post("/workspaces/new", {"name": "default"})
    assert "already exists" in studio.get("/w/default/").content.decode()


def test_it_pauses_and_resumes_a_workspace(studio: Client, workspace) -> None:
    html = studio.get("/w/default/").content.decode()
    assert 'action="/w/default/pause"' in html and "data-confirm=" in html

    assert studio.post("/w/default/pause").status_code == 302
    workspace.refresh_from_db()
    assert workspace.state == Workspace.State.PAUSED
    html = studio.get("/w/default/").content.decode()
    assert 'action="/w/default/resume"' in html and "paused" in html

    studio.post("/w/default/resume")
    workspace.refresh_from_db()
    assert workspace.state == Workspace.State.ACTIVE


def test_archiving_is_refused_while_workspaces_are_based_on_it(
    studio: Client, workspace, project
) -> None:
    Workspace.objects.create(project=project, name="child", base=workspace)
    response = studio.post("/w/default/archive")
    assert response.status_code == 302 and response["Location"] == "/w/default/"
    assert "cannot be archived" in studio.get("/w/default/").content.decode()
    workspace.refresh_from_db()
    assert workspace.state == Workspace.State.ACTIVE


def test_actions_take_posts_only(studio: Client, workspace) -> None:
    for url in ["/w/default/pause", "/w/default/resume", "/w/default/archive", "/workspaces/new"]:
        assert studio.get(url).status_code == 405, url


def test_forms_need_the_csrf_token(user: User, workspace) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/w/default/pause").status_code == 403
    page = client.get("/w/default/")
    token = page.context["csrf_token"]
    assert f'data-csrf-token="{token}"' in page.content.decode()
    assert client.post("/w/default/pause", {"csrfmiddlewaretoken": str(token)}).status_code == 302


def test_a_user_who_may_only_view_is_offered_no_actions(client: Client, registered) -> None:
    viewer = User.objects.create_user("vera")
    RoleGrant.objects.create(user=viewer, role=Role.VIEWER, workspaces="*")
    studio = client
    studio.force_login(viewer)
    html = studio.get("/w/default/workflows/app.flows/greet").content.decode()
    assert "/pause" not in html and "/archive" not in html and "/workspaces/new" not in html
    assert 'id="run-form"' not in html
    assert studio.post("/w/default/pause").status_code == 403
    assert studio.post("/workspaces/new", {"name": "x"}).status_code == 403
    assert studio.post("/w/default/workflows/app.flows/greet", {"arg-name": "x"}).status_code == 403
    assert studio.post("/w/default/queue/cancel", {"execution": "R:1:1"}).status_code == 403
