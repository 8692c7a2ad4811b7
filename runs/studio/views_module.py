"""A module's page: its targets and its queue in three columns (executing, due, scheduled)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from runs.studio.context import sidebar, workspace_page
from runs.studio.http import studio_view, studio_workspace
from runs.studio.workspace_parts import MODULE_QUEUE, module_queue_part


@require_GET
@studio_view
def module(request: HttpRequest, workspace: str, module: str) -> HttpResponse:
    space = studio_workspace(request, workspace)
    modules = sidebar(space)
    found = next((m for m in modules if m.name == module), None)
    if found is None:
        raise Http404(f"No module {module!r} in workspace {space.name!r}.")
    context = {**module_queue_part(space, module), "module": found}
    return workspace_page(
        request,
        space,
        "studio/module.html",
        context,
        page="module",
        partial=MODULE_QUEUE,
        params={"module": module},
        modules=modules,
    )
