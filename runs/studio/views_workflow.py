"""A workflow's page: its docstring, its runs, and the form that submits a run of it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from projects.permissions import Action
from runs.studio.context import chrome, live_url
from runs.studio.http import render_page, require, studio_project, studio_view, workspace_or_404
from runs.studio.markdown import render_markdown
from runs.studio.runlist import STATUSES, RunFilters, run_page
from workspaces.models import Target


@require_GET
@studio_view
def workflow(request: HttpRequest, workspace: str, module: str, target: str) -> HttpResponse:
    project = studio_project()
    space = workspace_or_404(project, workspace)
    require(request, Action.VIEW, space)
    found = (
        Target.objects.filter(
            module__workspace=space,
            module__name=module,
            module__archived=False,
            name=target,
            kind=Target.Kind.WORKFLOW,
        )
        .select_related("module")
        .first()
    )
    if found is None:
        raise Http404(f"No workflow {module}/{target} in workspace {space.name!r}.")
    filters = RunFilters.parse(request.GET, workflow=f"{module}/{target}")
    context = {
        "target": found,
        "docstring": render_markdown(found.instruction),
        "runs": run_page(space, filters),
        "statuses": STATUSES,
        "list_url": reverse("studio:workflow", args=[space.name, module, target]),
        "fixed_workflow": True,
    }
    live = live_url(
        workspace=space,
        page="workflow",
        params={"workflow": f"{module}/{target}", **_filters(request)},
    )
    return render_page(
        request,
        "studio/workflow.html",
        context,
        chrome=lambda: chrome(request, space, live=live, project=project),
        partial="studio/runs/_list.html",
    )


def _filters(request: HttpRequest) -> dict[str, str]:
    return {key: value for key, value in request.GET.items() if value and key != "workflow"}
