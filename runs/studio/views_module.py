"""A module's page: its targets and its queue in three columns (executing, due, scheduled)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from projects.permissions import Action
from runs.studio.context import chrome, live_url, sidebar
from runs.studio.http import render_page, require, studio_project, studio_view, workspace_or_404
from runs.studio.workspace_parts import MODULE_QUEUE, module_queue_part


@require_GET
@studio_view
def module(request: HttpRequest, workspace: str, module: str) -> HttpResponse:
    project = studio_project()
    space = workspace_or_404(project, workspace)
    require(request, Action.VIEW, space)
    modules = sidebar(space)
    found = next((m for m in modules if m.name == module), None)
    if found is None:
        raise Http404(f"No module {module!r} in workspace {space.name!r}.")
    context = {**module_queue_part(space, module), "module": found}
    live = live_url(workspace=space, page="module", params={"module": module})
    return render_page(
        request,
        "studio/module.html",
        context,
        chrome=lambda: {**chrome(request, space, live=live, project=project), "sidebar": modules},
        partial=MODULE_QUEUE,
    )
