"""The run page and what it does: cancel the run, cancel an attempt, re-run a step.

``/runs/<run>?tab=&step=&attempt=&panel=&page=`` plus the logs' filters. Without htmx the
whole page; with htmx the part its target names: ``run-main`` (a tab or a step chosen: the
tab, the step panel and the live socket's new address), ``run-tab``, ``step-panel`` or
``log-list``. Actions go through the same domain functions the REST API uses
(``runs.control``); without JavaScript they ask for confirmation on a page of their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from projects.errors import DomainError
from projects.permissions import Action
from runs.control import cancel_execution, rerun_step
from runs.models import Execution, Run
from runs.studio.context import chrome, live_url
from runs.studio.http import is_partial, render_page, require, studio_project, studio_view
from runs.studio.log_view import json_lines, text_lines
from runs.studio.prompts import run_inputs_part
from runs.studio.run_parts import (
    find_run,
    group_context,
    logs_context,
    page_context,
    panel_context,
    tab_context,
)
from runs.studio.run_state import RunState
from runs.studio.values_view import render_blob
from workspaces.models import Workspace

MAX_BLOB_TEXT = 16 * 1024 * 1024
T = TypeVar("T")


def _run_or_404(request: HttpRequest, run_id: str, action: Action = Action.VIEW) -> Run:
    found = find_run(studio_project(), run_id)
    if found is None:
        raise Http404(f"No run {run_id!r}.")
    require(request, action, found.workspace)
    return found


def _live(run: Run, state: RunState) -> str:
    return live_url(workspace=run.workspace, run=run.id, page="run", params=state.live_params())


@require_GET
@studio_view
def run_page(request: HttpRequest, run_id: str) -> HttpResponse:
    found = _run_or_404(request, run_id)
    state = RunState.parse(found.id, request.GET)
    now = timezone.now()
    target = request.htmx.target if is_partial(request) else None
    if target == "step-panel":
        context = {**panel_context(found, state), "state": state, "live_url": _live(found, state)}
        return render(request, "studio/run/_panel.html", context)
    if target == "run-tab":
        return render(request, "studio/run/_tab.html", tab_context(found, state, now))
    if target == "log-list":
        context = {**logs_context(found, state), "state": state, "live_url": _live(found, state)}
        return render(request, "studio/run/_log_list.html", context)
    context = {
        **page_context(found, state, now),
        **run_inputs_part(found, request.user),
        "live_url": _live(found, state),
    }
    panel = context["panel"]
    return render_page(
        request,
        "studio/run/page.html",
        context,
        chrome=lambda: chrome(
            request,
            found.workspace,
            live=context["live_url"],
            workspaces=panel.workspaces if panel is not None else None,
        ),
        partial="studio/run/_main.html",
    )


@require_GET
@studio_view
def group_members(request: HttpRequest, run_id: str, execution: str, group: int) -> HttpResponse:
    """The members of a ``cf.group``, for the graph's picker (alone for htmx, else a page)."""
    found = _run_or_404(request, run_id)
    state = RunState.parse(found.id, request.GET)
    context = group_context(found, state, execution, group)
    return render_page(
        request,
        "studio/run/group.html",
        context,
        chrome=lambda: chrome(request, found.workspace),
        partial="studio/run/_group.html",
    )


def _confirmation(request: HttpRequest, run: Run, question: str) -> HttpResponse | None:
    """Without htmx (which asked in the browser), a page asking ``question`` first."""
    if is_partial(request) or request.POST.get("confirmed") == "yes":
        return None
    fields = [(k, v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"]
    context = {"run": run, "question": question, "action": request.path, "fields": fields}
    return render_page(
        request,
        "studio/run/confirm.html",
        context,
        chrome=lambda: chrome(request, run.workspace),
    )


def _after_action(request: HttpRequest, state: RunState) -> HttpResponse:
    """Back to the run page, which shows what the action said and then follows it live."""
    url = state.url()
    if is_partial(request):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _state_of_form(run: Run, request: HttpRequest) -> RunState:
    """The view the form was posted from (its ``return`` field holds the page's query)."""
    return RunState.parse(run.id, QueryDict(request.POST.get("return", "")[:2000]))


@require_POST
@studio_view
def cancel_run(request: HttpRequest, run_id: str) -> HttpResponse:
    """Cancel the run: its root's latest attempt and everything below it."""
    found = _run_or_404(request, run_id, Action.OPERATE)
    asked = _confirmation(request, found, f"Cancel run {found.id} and all it started?")
    if asked is not None:
        return asked
    latest = (
        Execution.objects.filter(step__run=found, step__number=1)
        .order_by("-attempt")
        .values_list("id", flat=True)
        .first()
    )
    if latest is not None:
        _act(request, lambda: cancel_execution(found.project, latest), "Run cancelled.")
    return _after_action(request, _state_of_form(found, request))


@require_POST
@studio_view
def cancel_attempt(request: HttpRequest, run_id: str, step: int, attempt: int) -> HttpResponse:
    found = _run_or_404(request, run_id, Action.OPERATE)
    execution = f"{found.id}:{step}:{attempt}"
    asked = _confirmation(request, found, f"Cancel {execution} and what it started?")
    if asked is not None:
        return asked
    _act(request, lambda: cancel_execution(found.project, execution), f"{execution} cancelled.")
    return _after_action(request, _state_of_form(found, request))


@require_POST
@studio_view
def rerun(request: HttpRequest, run_id: str, step: int) -> HttpResponse:
    """A new attempt at the step, in the workspace chosen (the step's own or a descendant)."""
    found = _run_or_404(request, run_id, Action.OPERATE)
    name = request.POST.get("workspace", "")
    workspace = Workspace.objects.named(found.project, name) if name else None
    if name and workspace is None:
        return HttpResponseBadRequest("No such workspace.")
    require(request, Action.OPERATE, workspace or found.workspace)
    where = f" in {workspace.name}" if workspace is not None else ""
    asked = _confirmation(request, found, f"Re-run step {found.id}:{step}{where}?")
    if asked is not None:
        return asked
    state = _state_of_form(found, request)
    started = _act(
        request, lambda: rerun_step(found.project, f"{found.id}:{step}", workspace), None
    )
    if started is not None:
        state = RunState(found.id, tab=state.tab, step=step, attempt=started["attempt"])
    return _after_action(request, state)


def _act(request: HttpRequest, action: Callable[[], T], success: str | None) -> T | None:
    """Run a domain action, telling the user how it went."""
    try:
        outcome = action()
    except DomainError as error:
        messages.error(request, error.message)
        return None
    if success:
        messages.success(request, success)
    return outcome


@require_GET
@studio_view
def logs_download(request: HttpRequest, run_id: str, form: str) -> HttpResponse:
    """All the lines the filters select, as text or as JSON lines."""
    found = _run_or_404(request, run_id)
    if form not in ("txt", "jsonl"):
        raise Http404("Logs download as .txt or .jsonl.")
    filters = RunState.parse(found.id, request.GET).logs
    if form == "txt":
        lines, kind = text_lines(found, filters), "text/plain; charset=utf-8"
    else:
        lines, kind = json_lines(found, filters), "application/x-ndjson; charset=utf-8"
    response = StreamingHttpResponse(lines, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{found.id}-logs.{form}"'
    return response


@require_POST
@studio_view
def render_value(request: HttpRequest) -> HttpResponse:
    """A value fetched from the blob store by the page, drawn by the value renderer."""
    require(request, Action.VIEW)
    text = request.POST.get("data", "")
    if len(text) > MAX_BLOB_TEXT:
        return HttpResponseBadRequest("Too large to draw.")
    try:
        refs = json.loads(request.POST.get("refs") or "[]")
    except ValueError:
        refs = []
    html = render_blob(text, refs, plain=request.POST.get("plain") == "1")
    return HttpResponse(html)
