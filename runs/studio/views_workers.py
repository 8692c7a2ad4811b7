"""The workers page (the workspace's sessions) and the queue page (why each execution waits)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from projects.permissions import Action
from runs.studio.context import chrome, live_url
from runs.studio.http import render_page, require, studio_project, studio_view, workspace_or_404
from runs.studio.workspace_parts import QUEUE, SESSIONS, queue_part, sessions_part


@require_GET
@studio_view
def workers(request: HttpRequest, workspace: str) -> HttpResponse:
    project = studio_project()
    space = workspace_or_404(project, workspace)
    require(request, Action.VIEW, space)
    live = live_url(workspace=space, page="workers")
    return render_page(
        request,
        "studio/workers.html",
        sessions_part(space),
        chrome=lambda: chrome(request, space, live=live, project=project),
        partial=SESSIONS,
    )


@require_GET
@studio_view
def queue(request: HttpRequest, workspace: str) -> HttpResponse:
    project = studio_project()
    space = workspace_or_404(project, workspace)
    require(request, Action.VIEW, space)
    live = live_url(workspace=space, page="queue")
    return render_page(
        request,
        "studio/queue.html",
        queue_part(space),
        chrome=lambda: chrome(request, space, live=live, project=project),
        partial=QUEUE,
    )
