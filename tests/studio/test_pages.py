"""The workspace pages: overview (runs list with filters and pages), workflow, module, workers,
queue; each as a full page and as the partial htmx asks for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from projects.models import WorkerSession
from runs.models import Execution, Result, Run
from runs.studio.runlist import PAGE_SIZE
from runs.submission import submit_run
from runs.values import from_plain_json
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"


def submit(workspace: Workspace, target: str = "greet", *arguments: object, **overrides) -> str:
    values = [from_plain_json(a) for a in (arguments or ("x",))]
    execution = submit_run(workspace, "app.flows", target, values, overrides=overrides or None)
    return execution.id.split(":")[0]


def finish(run_id: str, state: str, result_type: str, seconds: float = 2.0) -> None:
    execution = Execution.objects.get(step__run_id=run_id, step__number=1)
    run = Run.objects.get(pk=run_id)
    Execution.objects.filter(pk=execution.pk).update(
        state=state, completed_at=run.created_at + timedelta(seconds=seconds)
    )
    Result.objects.create(
        execution=execution,
        type=result_type,
        created_at=run.created_at + timedelta(seconds=seconds),
    )


def rows(response) -> list[str]:
    return [row.id for row in response.context["runs"].rows]


def test_the_overview_lists_runs_with_status_workflow_and_duration(studio: Client, registered):
    queued = submit(registered)
    done = submit(registered, "typed")
    finish(done, "succeeded", "value", seconds=65)
    response = studio.get("/w/default/")
    assert response.status_code == 200
    assert rows(response) == [done, queued]
    html = response.content.decode()
    assert f'href="/runs/{done}"' in html
    assert 'class="status state-succeeded">succeeded<' in html
    assert 'class="status state-queued">queued<' in html
    assert "1m 05s" in html
    assert "typed" in html and '<span class="muted">API</span>' in html


def test_the_overview_filters_by_status_workflow_and_date(studio: Client, registered):
    greet = submit(registered)
    typed = submit(registered, "typed")
    failed = submit(registered, "typed")
    finish(failed, "failed", "error")
    old = submit(registered)
    Run.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=3))

    assert rows(studio.get("/w/default/", {"status": "failed"})) == [failed]
    assert rows(studio.get("/w/default/", {"status": "queued"})) == [typed, greet, old]
    assert rows(studio.get("/w/default/", {"workflow": "app.flows/typed"})) == [failed, typed]
    today = timezone.now().date().isoformat()
    assert old not in rows(studio.get("/w/default/", {"from": today}))
    assert rows(studio.get("/w/default/", {"to": (timezone.now() - timedelta(days=2)).date()})) == [
        old
    ]
    # Nonsense is ignored rather than refused.
    assert len(rows(studio.get("/w/default/", {"status": XSS, "from": "yesterday"}))) == 4


def test_a_cache_hit_is_filtered_by_the_status_of_its_source(studio: Client, registered):
    source = submit(registered)
    finish(source, "succeeded", "value")
    hit = submit(registered)
    execution = Execution.objects.get(step__run_id=hit)
    Execution.objects.filter(pk=execution.pk).update(state="cached")
    Result.objects.create(
        execution=execution,
        type="cached",
        successor=Execution.objects.get(step__run_id=source),
    )
    assert rows(studio.get("/w/default/", {"status": "succeeded"})) == [hit, source]


def test_the_overview_pages_and_keeps_filters_in_links(studio: Client, registered):
    ids = [submit(registered) for _ in range(PAGE_SIZE + 3)]
    first = studio.get("/w/default/", {"status": "queued"})
    assert len(rows(first)) == PAGE_SIZE
    html = first.content.decode()
    assert 'href="/w/default/?status=queued&amp;page=2"' in html
    second = studio.get("/w/default/", {"status": "queued", "page": "2"})
    assert rows(second) == list(reversed(ids))[PAGE_SIZE:]
    assert 'href="/w/default/?status=queued"' in second.content.decode()


def test_the_runs_list_is_a_partial_for_htmx(studio: Client, registered):
    submit(registered)
    partial = studio.get("/w/default/", {"status": "queued"}, HTTP_HX_REQUEST="true")
    html = partial.content.decode().strip()
    assert html.startswith('<section id="runs"')
    assert "<html" not in html and 'id="sidebar"' not in html
    # The page's socket follows the filters: its new URL comes along, out of band.
    assert 'id="studio-live" ws-connect="/studio/live?page=overview&amp;workspace=' in html
    assert "status=queued" in html and 'hx-swap-oob="true"' in html
    full = studio.get("/w/default/")
    assert '<section id="runs"' in full.content.decode()
    assert 'id="sidebar"' in full.content.decode()


def test_the_runs_list_costs_the_same_queries_however_long(
    studio: Client, registered, django_assert_max_num_queries
):
    for _ in range(3):
        submit(registered)
    with django_assert_max_num_queries(16) as few:
        studio.get("/w/default/")
    for _ in range(30):
        finish(submit(registered), "failed", "error")
    with django_assert_max_num_queries(len(few.captured_queries)):
        studio.get("/w/default/")
    # The partial skips the chrome: session, user, the user's roles, project, workspace, runs,
    # roots, attempts.
    with django_assert_max_num_queries(8):
        studio.get("/w/default/", HTTP_HX_REQUEST="true")


def test_the_workflow_page_renders_its_docstring_sanitised(studio: Client, registered):
    response = studio.get("/w/default/workflows/app.flows/typed")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>all</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, not run
    assert studio.get("/w/default/workflows/app.flows/nothing").status_code == 404
    assert studio.get("/w/default/workflows/other/typed").status_code == 404


def test_the_workflow_page_lists_only_its_runs(studio: Client, registered):
    submit(registered)
    typed = submit(registered, "typed")
    response = studio.get("/w/default/workflows/app.flows/typed")
    assert rows(response) == [typed]
    partial = studio.get(
        "/w/default/workflows/app.flows/typed", {"status": "queued"}, HTTP_HX_REQUEST="true"
    )
    assert partial.content.decode().strip().startswith('<section id="runs"')
    assert rows(partial) == [typed]


def test_the_module_page_shows_its_queue_in_three_columns(studio: Client, registered):
    due = submit(registered)
    later = submit(registered, delay_ms=3_600_000)
    running = submit(registered, "typed")
    overdue = submit(registered)
    Execution.objects.filter(step__run_id=running).update(
        state="assigned", started_at=timezone.now()
    )
    Execution.objects.filter(step__run_id=overdue).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    response = studio.get("/w/default/modules/app.flows")
    assert response.status_code == 200
    queue = response.context["queue"]
    assert [e.run_id for e in queue.executing] == [running]
    assert [e.run_id for e in queue.due] == [overdue, due]
    assert [e.run_id for e in queue.scheduled] == [later]
    assert [e.overdue for e in queue.due] == [True, False]
    html = response.content.decode()
    assert "overdue" in html and "due in 59m" in html
    partial = studio.get("/w/default/modules/app.flows", HTTP_HX_REQUEST="true")
    assert partial.content.decode().strip().startswith('<div id="module-queue"')
    assert studio.get("/w/default/modules/nothing").status_code == 404


def test_the_workers_page_shows_each_session(studio: Client, registered):
    session = WorkerSession.objects.create(
        project=registered.project,
        workspace=registered,
        connected=True,
        concurrency=4,
        provides={"gpu": ["A100"]},
        accepts={"team": ["ml"]},
        targets=[
            {"module": "app.flows", "name": "greet", "type": "workflow"},
            {"module": "app.flows", "name": "greeting", "type": "task"},
        ],
    )
    WorkerSession.objects.create(
        project=registered.project, workspace=registered, connected=True, draining=True
    )
    WorkerSession.objects.create(
        project=registered.project, workspace=registered, expired_at=timezone.now()
    )
    running = Execution.objects.get(step__run_id=submit(registered))
    Execution.objects.filter(pk=running.pk).update(state="assigned", session=session)
    response = studio.get("/w/default/workers")
    sessions = response.context["sessions"]
    assert [(s.state, s.load) for s in sessions] == [("connected", 1), ("draining", 0)]
    assert sessions[0].targets == {"app.flows": ["greet", "greeting"]}
    html = response.content.decode()
    assert session.id in html and "gpu=A100" in html and "team=ml" in html
    assert '<meter min="0" max="4" value="1">' in html
    partial = studio.get("/w/default/workers", HTTP_HX_REQUEST="true")
    assert partial.content.decode().strip().startswith('<div id="sessions"')


def test_the_queue_page_says_why_each_execution_waits(studio: Client, registered):
    nobody = submit(registered)
    WorkerSession.objects.create(
        project=registered.project,
        workspace=registered,
        connected=True,
        provides={"gpu": ["T4"]},
        targets=[{"module": "app.flows", "name": "typed", "type": "workflow"}],
    )
    unmet = submit(registered, "typed", requires={"gpu": ["A100"]})
    later = submit(registered, delay_ms=600_000)
    response = studio.get("/w/default/queue")
    entries = {e.run_id: e for e in response.context["entries"]}
    assert entries[nobody].reason == "No connected worker hosts app.flows/greet."
    assert entries[unmet].unmet == {"gpu": ["A100"]}
    assert entries[later].status == "scheduled"
    html = response.content.decode()
    assert "gpu ∈ A100" in html and "Due later." in html

    registered.state = Workspace.State.PAUSED
    registered.save()
    paused = studio.get("/w/default/queue", HTTP_HX_REQUEST="true")
    assert paused.content.decode().strip().startswith('<section id="queue-entries"')
    assert "The workspace is paused" in paused.content.decode()


def test_a_spawned_run_says_which_run_spawned_it(studio: Client, registered):
    from runs.creation import create_run

    parent = Execution.objects.get(step__run_id=submit(registered))
    spawned = create_run(
        project_id=registered.project_id,
        workspace_id=registered.pk,
        module="app.flows",
        target="typed",
        arguments=[],
        options={},
        now=timezone.now(),
        due=None,
        parent_id=parent.id,
    )
    html = studio.get("/w/default/").content.decode()
    parent_run = parent.id.split(":")[0]
    assert spawned.id.startswith("R")
    assert f'spawned by <a href="/runs/{parent_run}" class="mono">{parent_run}</a>' in html


def test_the_queue_offers_to_cancel_only_its_own_executions(studio: Client, registered, project):
    run_id = submit(registered)
    html = studio.get("/w/default/queue").content.decode()
    assert 'action="/w/default/queue/cancel"' in html and f'value="{run_id}:1:1"' in html
    assert "data-confirm=" in html
    other = Workspace.objects.create(project=project, name="other")
    assert studio.post("/w/other/queue/cancel", {"execution": f"{run_id}:1:1"}).status_code == 404
    assert studio.post("/w/default/queue/cancel", {"execution": "nothing"}).status_code == 404
    assert studio.get("/w/default/queue/cancel").status_code == 405
    assert other.state == "active"
