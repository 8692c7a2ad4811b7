"""The parts of the run page, each a template with a stable element id and the function that
gathers what it shows: the header, the tab (graph, timeline, logs or children) and the step
panel. The view renders them into the page or alone for htmx; the live socket renders the same
ones again when the run changes and pushes them to swap out of band.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from projects.models import Project
from runs.models import Execution, Run, Step
from runs.snapshots import UNFINISHED_STATUSES, final_result, run_status
from runs.studio import links
from runs.studio.durations import duration
from runs.studio.graph import build_graph
from runs.studio.log_view import LEVELS, LogFilters, log_page
from runs.studio.outline import load_outline
from runs.studio.run_state import TABS, RunState
from runs.studio.step_panel import PANEL_TABS, StepNotInRun, load_panel
from runs.studio.timeline import build_timeline
from runs.studio.values_view import short_text

CHILDREN_PAGE = 100
GROUP_PAGE = 50


def find_run(project: Project, run_id: str) -> Run | None:
    """The project's run with what every part reads of it (its workspace, its parent, and the
    project itself, which is not read again)."""
    if not run_id.isalnum() or len(run_id) > 32:
        return None
    run = (
        Run.objects.select_related("workspace", "parent").filter(project=project, pk=run_id).first()
    )
    if run is not None:
        run.project = run.workspace.project = project
    return run


# --- the header ---------------------------------------------------------------------------


def header_context(run: Run, now: datetime) -> dict[str, Any]:
    """Workflow, status, started, duration, workspace, parent run, other workspaces."""
    root = Step.objects.filter(run=run, number=1).only("module", "target").first()
    latest = (
        Execution.objects.filter(step__run=run, step__number=1)
        .select_related("result")
        .order_by("-attempt")
        .first()
    )
    status = run_status(latest)
    finished = status not in UNFINISHED_STATUSES
    final = final_result(latest) if latest is not None and finished else None
    ended = final.created_at if final is not None else now
    elsewhere = (
        Execution.objects.filter(step__run=run)
        .exclude(workspace_id=run.workspace_id)
        .values_list("workspace__name")
        .annotate(n=Count("id"))
        .order_by("workspace__name")
    )
    return {
        "run": run,
        "root": root,
        "status": status,
        "finished": finished,
        "duration": duration(max((ended - run.created_at).total_seconds(), 0.0)),
        "root_execution": latest,
        "elsewhere": list(elsewhere),
        "parent_run": run.parent_id.split(":", 1)[0] if run.parent_id else None,
        "cancellable": not finished and latest is not None,
        "overview_url": reverse("studio:overview", args=[run.workspace.name]),
    }


# --- the tabs -----------------------------------------------------------------------------


def graph_context(run: Run, state: RunState, now: datetime) -> dict[str, Any]:
    outline = load_outline(run)

    def picker(execution: str, group: int) -> str:
        base = reverse("studio:run_group", args=[run.id, execution, group])
        query = state.url(page=None).partition("?")[2]
        return f"{base}?{query}" if query else base

    graph = build_graph(
        outline,
        step_url=state.step_url,
        run_url=links.run_url,
        asset_url=links.asset_url,
        picker_url=picker,
        selected=(state.step, state.attempt) if state.step is not None else None,
        now=now,
    )
    return {"graph": graph, "timeline_url": state.tab_url("timeline")}


def timeline_context(run: Run, state: RunState, now: datetime) -> dict[str, Any]:
    outline = load_outline(run)
    timeline = build_timeline(
        outline, page=state.page, now=now, step_url=state.step_url, selected_step=state.step
    )
    return {
        "timeline": timeline,
        "previous_url": state.url(page=timeline.page - 1) if timeline.page > 1 else None,
        "next_url": state.url(page=timeline.page + 1) if timeline.page < timeline.pages else None,
    }


def logs_context(run: Run, state: RunState, filters: LogFilters | None = None) -> dict[str, Any]:
    filters = filters or state.logs
    logs_state = replace(state, tab="logs", logs=filters)

    def step_url(number: int, attempt: int | None) -> str:
        return logs_state.url(step=number, attempt=attempt)

    page = log_page(run, filters, step_url)
    base = reverse("studio:run", args=[run.id])
    unpaged = filters.query(after=None, before=None, follow=None)
    return {
        "logs": page,
        "filters": filters,
        "levels": list(LEVELS.values()),
        "form_url": base,
        "older_url": logs_state.url(before=page.first, after=None, follow=None)
        if page.has_older
        else None,
        "newer_url": logs_state.url(after=page.last, before=None, follow=None)
        if page.has_newer
        else None,
        "follow_url": logs_state.url(follow="1", after=None, before=None),
        "unfollow_url": logs_state.url(follow=None, after=None, before=None),
        "text_url": _with_query(reverse("studio:run_logs", args=[run.id, "txt"]), unpaged),
        "json_url": _with_query(reverse("studio:run_logs", args=[run.id, "jsonl"]), unpaged),
    }


def _with_query(base: str, query: dict[str, Any]) -> str:
    encoded = urlencode(query, doseq=True)
    return f"{base}?{encoded}" if encoded else base


@dataclass
class ChildRun:
    run_id: str
    status: str
    step: str
    attempt: int
    target: str
    created_at: datetime

    @property
    def execution_url(self) -> str:
        return links.execution_url(f"{self.step}:{self.attempt}")


def children_context(run: Run, state: RunState) -> dict[str, Any]:
    """The runs spawned by this run's executions, by the step and attempt that spawned them."""
    spawned = (
        Run.objects.filter(parent__step__run=run)
        .select_related("parent__step")
        .with_root()
        .order_by("created_at", "id")
    )
    paginator = Paginator(spawned, CHILDREN_PAGE)
    page = paginator.get_page(state.page)
    children = []
    for child in page.object_list:
        root = child.root_steps[0] if child.root_steps else None
        executions = list(root.executions.all()) if root is not None else []
        latest = executions[-1] if executions else None
        children.append(
            ChildRun(
                run_id=child.id,
                status=run_status(latest),
                step=child.parent.step_id,
                attempt=child.parent.attempt,
                target=f"{root.module}/{root.target}" if root else "",
                created_at=child.created_at,
            )
        )
    return {
        "children": children,
        "page": page,
        "previous_url": state.url(page=page.number - 1) if page.has_previous() else None,
        "next_url": state.url(page=page.number + 1) if page.has_next() else None,
    }


TAB_CONTEXTS: dict[str, Callable[[Run, RunState, datetime], dict[str, Any]]] = {
    "graph": graph_context,
    "timeline": timeline_context,
    "logs": lambda run, state, now: logs_context(run, state),
    "children": lambda run, state, now: children_context(run, state),
}


def tab_context(run: Run, state: RunState, now: datetime) -> dict[str, Any]:
    context = TAB_CONTEXTS[state.tab](run, state, now)
    tabs = [(tab, state.tab_url(tab)) for tab in TABS]
    return {**context, "run": run, "state": state, "tabs": tabs}


# --- the step panel -----------------------------------------------------------------------


def panel_context(run: Run, state: RunState) -> dict[str, Any]:
    """The selected step's panel, or nothing when no step (or no such step) is selected."""
    if state.step is None:
        return {"panel": None}
    try:
        panel = load_panel(run, state.step, state.attempt, state.panel)
    except StepNotInRun:
        return {"panel": None, "missing_step": state.step}
    attempt_state = replace(state, attempt=panel.attempt.attempt)
    context: dict[str, Any] = {
        "panel": panel,
        "panel_tabs": [
            (tab, attempt_state.url(panel=tab if tab != "overview" else None)) for tab in PANEL_TABS
        ],
        "attempt_urls": [
            (execution, state.url(attempt=execution.attempt)) for execution in panel.attempts
        ],
        "previous_url": state.url(attempt=panel.previous.attempt) if panel.previous else None,
        "next_url": state.url(attempt=panel.next.attempt) if panel.next else None,
        "close_url": state.url(step=None, attempt=None, panel=None),
    }
    if panel.tab == "logs":
        filters = LogFilters(execution=panel.attempt.id)
        context["panel_logs"] = logs_context(run, state, filters)
        context["panel_logs_tab_url"] = replace(state, tab="logs", logs=filters).url()
    return context


# --- the group picker ---------------------------------------------------------------------


@dataclass
class Member:
    step: Step
    state: str
    attempts: int
    arguments: str
    href: str


def group_context(run: Run, state: RunState, execution: str, group: int) -> dict[str, Any]:
    """The members of one ``cf.group`` of an execution, a page at a time, by their arguments."""
    steps = (
        Step.objects.filter(run=run, parent_id=execution, group=group)
        .order_by("number")
        .prefetch_related(
            Prefetch(
                "executions",
                Execution.objects.only("id", "step_id", "attempt", "state").order_by("attempt"),
            )
        )
    )
    paginator = Paginator(steps, GROUP_PAGE)
    page = paginator.get_page(state.page)
    members = []
    for step in page.object_list:
        attempts = list(step.executions.all())
        latest = attempts[-1] if attempts else None
        arguments = step.arguments if isinstance(step.arguments, list) else []
        members.append(
            Member(
                step=step,
                state=latest.state if latest else "queued",
                attempts=len(attempts),
                arguments=", ".join(short_text(a, 40) for a in arguments[:6]),
                href=state.step_url(step.number, None),
            )
        )
    first = members[0].step if members else None
    return {
        "run": run,
        "members": members,
        "page": page,
        "group_name": (first.group_name if first else "") or f"group {group}",
        "execution": execution,
        "previous_url": _page_url(state, page.number - 1) if page.has_previous() else None,
        "next_url": _page_url(state, page.number + 1) if page.has_next() else None,
        "back_url": state.url(page=None),
    }


def _page_url(state: RunState, page: int) -> str:
    return f"?{state.url(page=page).partition('?')[2]}"


# --- rendering ----------------------------------------------------------------------------


def page_context(run: Run, state: RunState, now: datetime | None = None) -> dict[str, Any]:
    """Everything the run page draws."""
    now = now or timezone.now()
    return {
        **header_context(run, now),
        **tab_context(run, state, now),
        **panel_context(run, state),
        "state": state,
    }


PARTS: dict[str, tuple[str, Callable[[Run, RunState, datetime], dict[str, Any]]]] = {
    "header": ("studio/run/_header.html", lambda run, state, now: header_context(run, now)),
    "tab": ("studio/run/_tab.html", tab_context),
    "panel": ("studio/run/_panel.html", lambda run, state, now: panel_context(run, state)),
}
"""The parts the live socket pushes: name → (template, context)."""

LOG_LIST: tuple[str, Callable[[Run, RunState, datetime], dict[str, Any]]] = (
    "studio/run/_log_list.html",
    lambda run, state, now: logs_context(run, state),
)


def render_part(name: str, run: Run, state: RunState) -> str:
    """One part of the page as HTML, with the element id it swaps into. On the logs tab the
    tab's part is the list of lines alone, so that a push leaves the filters being typed."""
    template, context = PARTS[name]
    if name == "tab" and state.tab == "logs":
        template, context = LOG_LIST
    values = {**context(run, state, timezone.now()), "state": state, "run": run}
    return render_to_string(template, values)
