"""The workspace overview, "Go to…", and the workspace actions of the chrome's switcher."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from projects.errors import DomainError
from projects.permissions import Action
from runs.studio.context import chrome, workspace_page
from runs.studio.goto import search
from runs.studio.http import is_partial, require, studio_project, studio_view, studio_workspace
from runs.studio.runlist import STATUSES
from runs.studio.workspace_parts import RUNS, runs_part
from workspaces.actions import archive_workspace, create_workspace, set_workspace_state
from workspaces.models import Workspace

DEFAULT_WORKSPACE = "default"


@require_GET
@studio_view
def home(request: HttpRequest) -> HttpResponse:
    """The default workspace's overview (or the first workspace's; or a page to create one)."""
    project = studio_project()
    live = Workspace.objects.live(project)
    found = live.filter(name__iexact=DEFAULT_WORKSPACE).first() or live.order_by("name").first()
    if found is not None:
        return redirect("studio:overview", found.name)
    require(request, Action.VIEW)
    return render(request, "studio/home.html", chrome(request, None, project=project))


@require_GET
@studio_view
def overview(request: HttpRequest, workspace: str) -> HttpResponse:
    space = studio_workspace(request, workspace)
    context = {**runs_part(space, request.GET), "statuses": STATUSES}
    return workspace_page(
        request,
        space,
        "studio/overview.html",
        context,
        page="overview",
        partial=RUNS,
        params=_live_filters(request),
        filtered=True,
    )


def _live_filters(request: HttpRequest) -> dict[str, str]:
    """The page's own filters, for its websocket to draw pushed partials the same way."""
    return {key: value for key, value in request.GET.items() if value}


@require_GET
@studio_view
def goto(request: HttpRequest, workspace: str) -> HttpResponse:
    """Results for "Go to…": the list alone for the dialog; a page of them without JS."""
    space = studio_workspace(request, workspace)
    query = request.GET.get("q", "")[:200]
    results = search(space.project, space, query) if query.strip() else []
    context = {"results": results, "query": query}
    if is_partial(request):
        return render(request, "studio/chrome/_goto_results.html", context)
    if len(results) == 1:
        return HttpResponseRedirect(results[0].url)
    return render(request, "studio/goto.html", {**chrome(request, space), **context})


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Back where the form was, if that is one of our pages."""
    target = request.POST.get("next") or request.headers.get("Referer") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


@require_POST
@studio_view
def create(request: HttpRequest) -> HttpResponse:
    """Create a workspace (optionally based on another), then open it."""
    project = studio_project()
    name = request.POST.get("name", "").strip()
    require(request, Action.MANAGE, name or None)
    base = request.POST.get("base", "").strip() or None
    try:
        created = create_workspace(project, name, base)
    except DomainError as error:
        messages.error(request, error.message)
        return _back(request, reverse("studio:home"))
    messages.success(request, f"Workspace “{created.name}” created.")
    return redirect("studio:overview", created.name)


def _set_state(request: HttpRequest, workspace: str, state: Workspace.State) -> HttpResponse:
    space = studio_workspace(request, workspace, Action.OPERATE)
    set_workspace_state(space, state)
    verb = "paused" if state == Workspace.State.PAUSED else "resumed"
    messages.success(request, f"Workspace “{space.name}” {verb}.")
    return _back(request, reverse("studio:overview", args=[space.name]))


@require_POST
@studio_view
def pause(request: HttpRequest, workspace: str) -> HttpResponse:
    return _set_state(request, workspace, Workspace.State.PAUSED)


@require_POST
@studio_view
def resume(request: HttpRequest, workspace: str) -> HttpResponse:
    return _set_state(request, workspace, Workspace.State.ACTIVE)


@require_POST
@studio_view
def archive(request: HttpRequest, workspace: str) -> HttpResponse:
    """Archive the workspace (the orchestrator cancels its queued work), then go home."""
    space = studio_workspace(request, workspace, Action.MANAGE)
    try:
        archived = archive_workspace(space)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("studio:overview", space.name)
    messages.success(
        request,
        f"Workspace “{space.name}” archived: {len(archived['cancelled'])} queued execution(s) "
        f"cancelled, {len(archived['sessions'])} worker session(s) ended.",
    )
    return redirect("studio:home")
