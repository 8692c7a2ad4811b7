"""The run page and each of its partials (whole, and as htmx asks for them), its actions, and
what it costs in queries as runs grow."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from projects.errors import Code, DomainError
from projects.models import Role, RoleGrant
from runs import control
from runs.models import Execution
from runs.states import State
from runs.studio.step_panel import CHILDREN_SHOWN
from tests.orchestration.support import messages
from tests.studio.run_support import RunBuilder
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"
FRAMES = [
    {"file": "/app/flows.py", "line": 12, "name": "inc", "code": "raise ValueError(x)"},
    {"file": "/app/lib.py", "line": 3, "name": "check", "code": "assert ok"},
]


@pytest.fixture
def builder(db: None) -> RunBuilder:
    return RunBuilder()


@pytest.fixture
def studio(client: Client, builder: RunBuilder, django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("alice", password="correct horse")
    RoleGrant.objects.create(user=user, role=Role.ADMIN, workspaces="*")
    client.force_login(user)
    return client


@pytest.fixture
def orchestrated(monkeypatch: pytest.MonkeyPatch, builder: RunBuilder) -> list[dict[str, Any]]:
    """Commands to the orchestrator applied by the builder's orchestrator, in this thread (the
    channel layer between the view and the orchestrator is all that is left out)."""
    commands: list[dict[str, Any]] = []

    def call(project_id: int, command: dict[str, Any]) -> dict[str, Any]:
        commands.append(command)
        outbox = builder.harness.tick({"kind": "command", "command": command, "reply_to": "r"})
        [reply] = messages(outbox, "orchestrator.reply")
        if not reply.get("ok"):
            raise DomainError(reply["message"], code=Code(reply["error"]))
        return reply

    monkeypatch.setattr(control, "call_orchestrator", call)
    return commands


def htmx(client: Client, url: str, target: str, **params: Any):
    return client.get(url, params, HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target)


def failed_run(builder: RunBuilder) -> tuple[str, str]:
    root = builder.start()
    child = builder.call(root, arguments=[XSS])
    builder.log(
        child,
        "loading {name}",
        {"name": {"type": "inline", "format": "json", "data": XSS, "refs": []}},
    )
    builder.fail(child, f"bad {XSS}", FRAMES)
    builder.wait(root, child)
    return root, child


def test_it_needs_a_logged_in_user(client: Client, builder: RunBuilder):
    builder.start()
    response = client.get("/runs/Rtest1")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_unknown_run_is_not_found(studio: Client):
    assert studio.get("/runs/Rnope").status_code == 404
    assert studio.get("/runs/R..").status_code == 404


def test_the_page_shows_the_header_the_graph_and_the_live_socket(studio: Client, builder):
    root, child = failed_run(builder)
    response = studio.get("/runs/Rtest1")
    assert response.status_code == 200
    html = response.content.decode()
    names = [t.name for t in response.templates]
    assert names[:2] == ["studio/run/page.html", "studio/base.html"]
    assert {"studio/run/_header.html", "studio/run/_graph.html", "studio/run/_panel.html"} <= set(
        names
    )
    assert 'id="run-header"' in html and 'id="run-main"' in html and 'id="run-tab"' in html
    assert "app.flows/</span>main" in html and "running" in html
    assert 'data-node="step:Rtest1:2"' in html and "state-failed" in html
    assert 'ws-connect="/studio/live?page=run&amp;workspace=' in html and "run=Rtest1" in html
    assert "Cancel run" in html
    assert XSS not in html


def test_a_run_in_another_workspace_notes_it(studio: Client, builder: RunBuilder, orchestrated):
    root = builder.start()
    child = builder.call(root)
    builder.succeed(child, 1)
    Workspace.objects.create(project=builder.project, name="dev", base=builder.workspace)
    builder.harness.tick({"kind": "wake"})
    builder.rerun("Rtest1:2", "dev")
    html = studio.get("/runs/Rtest1").content.decode()
    assert "1 attempt of this run ran in workspace <strong>dev</strong>" in html


@pytest.mark.parametrize(
    ("tab", "marker"),
    [
        ("graph", 'class="graph-svg"'),
        ("timeline", 'class="timeline-svg"'),
        ("logs", 'id="log-list"'),
        ("children", "This run has spawned no runs."),
    ],
)
def test_each_tab_renders_whole_and_as_a_partial(studio: Client, builder, tab, marker):
    failed_run(builder)
    whole = studio.get("/runs/Rtest1", {"tab": tab})
    assert whole.status_code == 200 and marker in whole.content.decode()
    main = htmx(studio, "/runs/Rtest1", "run-main", tab=tab)
    assert [t.name for t in main.templates][0] == "studio/run/_main.html"
    assert marker in main.content.decode() and 'id="run-header"' not in main.content.decode()
    assert (
        'id="studio-live"' in main.content.decode()
        and f"tab={tab}" in main.content.decode()
        or (tab == "graph")
    )
    part = htmx(studio, "/runs/Rtest1", "run-tab", tab=tab)
    assert [t.name for t in part.templates][0] == "studio/run/_tab.html"
    assert marker in part.content.decode() and 'id="run-main"' not in part.content.decode()


def test_the_step_panel_shows_the_failure_with_its_traceback(studio: Client, builder):
    root, child = failed_run(builder)
    html = studio.get("/runs/Rtest1", {"step": 2}).content.decode()
    assert 'id="step-panel"' in html
    assert "builtins.ValueError" in html and "bad &lt;img src=x onerror=alert(1)&gt;" in html
    assert "/app/flows.py" in html and "line 12" in html and "raise ValueError(x)" in html
    assert "/app/lib.py" in html and "assert ok" in html
    assert "&#x27;&lt;img src=x onerror=alert(1)&gt;&#x27;" in html  # the argument, as a str
    assert XSS not in html
    root_panel = studio.get("/runs/Rtest1", {"step": 1}).content.decode()
    assert "Failed dependencies" not in root_panel  # the root has not failed (yet)


def test_the_cache_tab_says_where_a_hit_came_from_and_who_reused_a_result(studio, builder):
    root = builder.start()
    cache = {"params": [0], "max_age_ms": 60_000, "namespace": "pages", "version": "2"}
    first = builder.call(root, "fetch", arguments=["a"], options={"cache": cache})
    builder.succeed(first, "page")
    builder.call(root, "fetch", arguments=["a"], options={"cache": cache})
    builder.harness.tick({"kind": "wake"})
    memo = builder.call(root, "inc", arguments=[5], options={"memo": True})
    builder.call(root, "inc", arguments=[5], options={"memo": True, "requires": {"gpu": ["a100"]}})
    hit = htmx(studio, "/runs/Rtest1", "step-panel", step=3, panel="cache").content.decode()
    assert "1.0 m 0 s" not in hit and "1 m 0 s" in hit  # max age
    assert ">0</dd>" in hit and ">2</dd>" in hit and ">pages</dd>" in hit
    assert 'the result of <a href="/runs/Rtest1?step=2&amp;attempt=1"' in hit
    assert "run Rtest1, workspace default" in hit
    memoised = htmx(studio, "/runs/Rtest1", "step-panel", step=4, panel="cache")
    assert "Reused by memoised calls" in memoised.content.decode()
    assert memo.rsplit(":", 1)[0] == "Rtest1:4"


def test_the_overview_shows_requires_and_options(studio, builder):
    root = builder.start()
    options = {
        "requires": {"gpu": ["a100"]},
        "retries": {"limit": 2, "backoff_min_ms": 1000, "backoff_max_ms": 5000},
        "timeout_ms": 30_000,
    }
    builder.call(root, "unhosted", options=options)
    html = htmx(studio, "/runs/Rtest1", "step-panel", step=2).content.decode()
    assert '<dt class="mono">gpu</dt>' in html and '<span class="tag">a100</span>' in html
    assert "up to 2, backoff 1.0 s–5.0 s" in html and "30.0 s" in html


def test_the_panel_partial_and_its_tabs(studio: Client, builder):
    root, child = failed_run(builder)
    for panel, marker in [
        ("overview", "Arguments"),
        ("logs", "loading"),
        ("timing", "Assigned"),
        ("cache", "Not cached."),
        ("connections", "called by"),
    ]:
        part = htmx(studio, "/runs/Rtest1", "step-panel", step=2, panel=panel)
        assert [t.name for t in part.templates][0] == "studio/run/_panel.html"
        html = part.content.decode()
        assert marker in html, panel
        assert 'hx-swap-oob="true"' in html and f"panel={panel}" in html or panel == "overview"
        assert XSS not in html


def test_the_connections_tab_lists_the_first_children_and_counts_them_all(studio, builder):
    root = builder.start()
    builder.calls(root, [[i] for i in range(CHILDREN_SHOWN + 2)])
    html = htmx(studio, "/runs/Rtest1", "step-panel", step=1, panel="connections").content.decode()
    assert f'Children <span class="muted small">{CHILDREN_SHOWN + 2}</span>' in html
    assert f"and {CHILDREN_SHOWN + 2} in all" in html
    shown = re.findall(r'<li><a href="[^"]*" class="mono" data-step="(Rtest1:\d+)"', html)
    assert shown == [f"Rtest1:{number}" for number in range(2, CHILDREN_SHOWN + 2)]
    leaf = htmx(studio, "/runs/Rtest1", "step-panel", step=2, panel="connections").content.decode()
    assert 'Children <span class="muted small">0</span>' in leaf


def test_the_attempt_switcher_lists_attempts_and_shows_the_chosen_one(studio, builder):
    root = builder.start()
    child = builder.call(root)
    builder.succeed(child, 1)
    builder.rerun("Rtest1:2")
    html = studio.get("/runs/Rtest1", {"step": 2, "attempt": 1}).content.decode()
    assert '#1 <span class="status state-succeeded">' in html
    assert '#2 <span class="status state-assigned">' in html
    assert "Attempt #1" in html
    assert 'title="Next attempt"' in html and 'title="Previous attempt"' not in html
    assert "Cancel</button>" not in html  # attempt 1 has finished
    latest = studio.get("/runs/Rtest1", {"step": 2}).content.decode()
    assert "Attempt #2" in latest and "Cancel</button>" in latest


def test_a_missing_step_says_so(studio: Client, builder):
    builder.start()
    assert "This run has no step 9." in studio.get("/runs/Rtest1", {"step": 9}).content.decode()


def test_the_group_picker_lists_members_by_their_arguments(studio: Client, builder):
    root = builder.start()
    builder.calls(root, [[i, XSS] for i in range(60)], group=1, group_name="batch")
    url = f"/runs/Rtest1/groups/{root}/1"
    part = htmx(studio, url, "group-picker")
    html = part.content.decode()
    assert [t.name for t in part.templates][0] == "studio/run/_group.html"
    assert "batch" in html and "60 calls" in html and "page 1 of 2" in html
    assert "0, &#x27;&lt;img" in html and XSS not in html
    second = studio.get(url, {"page": 2})
    assert second.status_code == 200 and "page 2 of 2" in second.content.decode()
    assert "studio/run/group.html" in [t.name for t in second.templates]


def test_logs_filter_page_and_render_values(studio: Client, builder):
    root = builder.start()
    builder.log(
        root, "hello {who}", {"who": {"type": "inline", "format": "json", "data": XSS, "refs": []}}
    )
    builder.log(root, "printed", level=1)
    builder.log(
        root,
        "oops {n}",
        {"n": {"type": "inline", "format": "json", "data": 3, "refs": []}},
        level=5,
    )
    html = studio.get("/runs/Rtest1", {"tab": "logs"}).content.decode()
    assert "3 lines" in html and "&lt;img src=x" in html and XSS not in html
    errors = htmx(studio, "/runs/Rtest1", "log-list", tab="logs", level="error")
    assert [t.name for t in errors.templates][0] == "studio/run/_log_list.html"
    body = errors.content.decode()
    assert "1 line matches" in body and "oops" in body and "printed" not in body
    assert "level=error" in body  # the live socket follows the filter
    searched = htmx(studio, "/runs/Rtest1", "log-list", tab="logs", q="img")
    assert "1 line matches" in searched.content.decode()  # found in the values


def test_logs_download_as_text_and_json_lines(studio: Client, builder):
    root = builder.start()
    builder.log(
        root,
        "hello {who}",
        {
            "who": {"type": "inline", "format": "json", "data": "Ann", "refs": []},
            "extra": {"type": "inline", "format": "json", "data": [1], "refs": []},
        },
    )
    builder.log(root, "printed", level=1)
    text = studio.get("/runs/Rtest1/logs.txt")
    assert text["Content-Type"].startswith("text/plain")
    assert 'filename="Rtest1-logs.txt"' in text["Content-Disposition"]
    lines = b"".join(text.streaming_content).decode().splitlines()
    assert lines[0].split()[1:] == ["info", "1:1", "hello", "Ann", "extra=[1]"]
    assert lines[1].split()[1:] == ["stdout", "1:1", "printed"]
    jsonl = studio.get("/runs/Rtest1/logs.jsonl", {"level": "stdout"})
    entries = [json.loads(line) for line in b"".join(jsonl.streaming_content).splitlines()]
    assert [e["template"] for e in entries] == ["printed"]
    assert entries[0]["execution"] == root and entries[0]["level"] == 1
    assert studio.get("/runs/Rtest1/logs.csv").status_code == 404


def test_the_children_tab_lists_spawned_runs(studio: Client, builder):
    root = builder.start()
    builder.call(root, "main")
    spawned = Execution.objects.exclude(step__run_id="Rtest1").get().step.run_id
    html = studio.get("/runs/Rtest1", {"tab": "children"}).content.decode()
    assert f'href="/runs/{spawned}"' in html and "Rtest1:2" in html
    child_page = studio.get(f"/runs/{spawned}").content.decode()
    assert "Spawned by" in child_page and 'href="/runs/Rtest1"' in child_page


def test_a_value_from_the_blob_store_is_drawn_by_the_renderer(studio: Client):
    data = json.dumps([{"type": "ref", "index": 0}, XSS])
    refs = json.dumps([{"type": "execution", "id": "Rabc:2:1"}])
    response = studio.post("/studio/values", {"data": data, "refs": refs})
    html = response.content.decode()
    assert response.status_code == 200 and "Rabc:2:1" in html and XSS not in html


# --- actions ----------------------------------------------------------------------------


def test_cancelling_the_run_asks_first_without_javascript(studio: Client, builder, orchestrated):
    builder.start()
    asked = studio.post("/runs/Rtest1/cancel", {"return": "tab=timeline"})
    assert asked.status_code == 200 and orchestrated == []
    assert "Cancel run Rtest1" in asked.content.decode()
    assert 'name="confirmed" value="yes"' in asked.content.decode()
    done = studio.post("/runs/Rtest1/cancel", {"return": "tab=timeline", "confirmed": "yes"})
    assert done.status_code == 302 and done["Location"] == "/runs/Rtest1?tab=timeline"
    assert orchestrated == [{"type": "cancel", "execution": "Rtest1:1:1"}]
    assert Execution.objects.get(pk="Rtest1:1:1").state == State.CANCELLED


def test_cancelling_with_htmx_reloads_the_page(studio: Client, builder, orchestrated):
    root = builder.start()
    child = builder.call(root)
    response = studio.post(
        "/runs/Rtest1/steps/2/attempts/1/cancel", {"return": "step=2"}, HTTP_HX_REQUEST="true"
    )
    assert response["HX-Redirect"] == "/runs/Rtest1?step=2"
    assert Execution.objects.get(pk=child).state == State.CANCELLED
    assert Execution.objects.get(pk=root).state == State.ASSIGNED


def test_rerunning_a_step_in_a_child_workspace(studio: Client, builder, orchestrated):
    root = builder.start()
    child = builder.call(root)
    builder.succeed(child, 1)
    dev = Workspace.objects.create(project=builder.project, name="dev", base=builder.workspace)
    Workspace.objects.create(project=builder.project, name="unrelated")
    builder.harness.tick({"kind": "wake"})
    panel = htmx(studio, "/runs/Rtest1", "step-panel", step=2).content.decode()
    assert '<option value="dev">' in panel and "unrelated" not in panel
    response = studio.post(
        "/runs/Rtest1/steps/2/rerun",
        {"workspace": "dev", "return": "step=2&tab=timeline"},
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Redirect"] == "/runs/Rtest1?tab=timeline&step=2&attempt=2"
    attempt = Execution.objects.get(pk="Rtest1:2:2")
    assert attempt.workspace == dev
    refused = studio.post(
        "/runs/Rtest1/steps/2/rerun", {"workspace": "unrelated", "confirmed": "yes"}
    )
    assert refused.status_code == 302
    followed = studio.get(refused["Location"]).content.decode()
    assert "message error" in followed


def test_actions_are_post_only(studio: Client, builder):
    builder.start()
    assert studio.get("/runs/Rtest1/cancel").status_code == 405
    assert studio.get("/runs/Rtest1/steps/1/rerun").status_code == 405


# --- query counts ---------------------------------------------------------------------------


def grown_run(builder: RunBuilder, steps: int) -> None:
    root = builder.start()
    executions = builder.calls(root, [[i] for i in range(steps // 2)])
    builder.calls(root, [[i] for i in range(steps - steps // 2)], group=1, group_name="g")
    for execution in executions[:5]:
        builder.log(
            execution,
            "step {i}",
            {"i": {"type": "inline", "format": "json", "data": 1, "refs": []}},
        )
    builder.wait(root, *executions[:3])


@pytest.mark.parametrize("steps", [10, 1000])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tab": "timeline"},
        {"tab": "logs"},
        {"tab": "children"},
        {"step": "2"},
        {"step": "2", "panel": "connections"},
        {"step": "1", "panel": "logs"},
    ],
)
def test_the_page_costs_a_bounded_number_of_queries(
    studio: Client, builder, django_assert_max_num_queries, steps, params
):
    grown_run(builder, steps)
    # 28 with the connections panel open: the session, the user and their roles, the project
    # and the run once each, the parts, the panel, and the chrome.
    with django_assert_max_num_queries(28):
        response = studio.get("/runs/Rtest1", params)
    assert response.status_code == 200
