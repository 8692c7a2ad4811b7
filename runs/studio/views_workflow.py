"""A workflow's page: its docstring, its runs, and the **Run…** form that submits a run of it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from projects.errors import DomainError
from projects.permissions import Action, principal_of_user
from runs.studio.context import workspace_page
from runs.studio.http import require, studio_view, studio_workspace
from runs.studio.links import run_url
from runs.studio.markdown import render_markdown
from runs.studio.runlist import STATUSES
from runs.studio.submitform import RunForm, apply_server_errors, build_form, read_submission
from runs.studio.workspace_parts import RUNS, runs_part
from runs.submission import InvalidArguments, submit_run
from runs.values import from_plain_json
from workspaces.models import Target, Workspace


def _workflow_or_404(space: Workspace, module: str, target: str) -> Target:
    found = Target.objects.workflow(space, module, target)
    if found is None:
        raise Http404(f"No workflow {module}/{target} in workspace {space.name!r}.")
    return found


@require_http_methods(["GET", "POST"])
@studio_view
def workflow(request: HttpRequest, workspace: str, module: str, target: str) -> HttpResponse:
    """GET: the page. POST: submit a run from the form, then open the run's page (or show the
    form again with each error beside what it is about)."""
    space = studio_workspace(request, workspace)
    found = _workflow_or_404(space, module, target)
    if request.method == "POST":
        require(request, Action.OPERATE, space)
        form = build_form(found, request.POST)
        run_id = _submit(space, form, principal_of_user(request.user).name)
        if run_id is not None:
            return HttpResponseRedirect(run_url(run_id))
        return _page(request, space, found, form, status=400)
    return _page(request, space, found, build_form(found))


def _submit(space: Workspace, form: RunForm, user: str) -> str | None:
    """Submit the run the form describes; its ID, or ``None`` with errors put in the form."""
    submission = read_submission(form)
    if submission is None:
        return None
    target = form.target
    try:
        execution = submit_run(
            space,
            target.module.name,
            target.name,
            [from_plain_json(argument) for argument in submission.arguments],
            overrides=submission.overrides,
            created_by=user,
        )
    except InvalidArguments as error:
        apply_server_errors(form, error.message, error.details)
        return None
    except DomainError as error:
        form.errors.append(error.message)
        return None
    return execution.step.run_id


def _page(
    request: HttpRequest, space: Workspace, target: Target, form: RunForm, status: int = 200
) -> HttpResponse:
    module, name = target.module.name, target.name
    context = {
        **runs_part(space, request.GET, (module, name)),
        "target": target,
        "docstring": render_markdown(target.instruction),
        "form": form,
        "statuses": STATUSES,
        "fixed_workflow": True,
    }
    filter_params = {k: v for k, v in request.GET.items() if v and k != "workflow"}
    return workspace_page(
        request,
        space,
        "studio/workflow.html",
        context,
        page="workflow",
        partial=RUNS,
        params={"workflow": f"{module}/{name}", **filter_params},
        filtered=True,
        status=status,
    )
