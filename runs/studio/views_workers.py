"""The workers page (the workspace's sessions) and the queue page (why each execution waits,
with a button to cancel it)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from projects.errors import DomainError
from projects.permissions import Action
from runs.control import cancel_execution
from runs.models import Execution
from runs.studio.context import workspace_page
from runs.studio.http import is_partial, studio_view, studio_workspace
from runs.studio.workspace_parts import QUEUE, SESSIONS, queue_part, sessions_part


@require_GET
@studio_view
def workers(request: HttpRequest, workspace: str) -> HttpResponse:
    space = studio_workspace(request, workspace)
    context = sessions_part(space)
    return workspace_page(
        request, space, "studio/workers.html", context, page="workers", partial=SESSIONS
    )


@require_GET
@studio_view
def queue(request: HttpRequest, workspace: str) -> HttpResponse:
    space = studio_workspace(request, workspace)
    context = queue_part(space)
    return workspace_page(request, space, "studio/queue.html", context, page="queue", partial=QUEUE)


@require_POST
@studio_view
def cancel(request: HttpRequest, workspace: str) -> HttpResponse:
    """Cancel one of the queue's executions (and what it started); back to the queue, or for
    htmx the queue's part drawn again."""
    space = studio_workspace(request, workspace, Action.OPERATE)
    execution = request.POST.get("execution", "")
    if not Execution.objects.filter(pk=execution, workspace=space).exists():
        raise Http404(f"No execution {execution!r} in workspace {space.name!r}.")
    try:
        cancelled = cancel_execution(space.project, execution)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{execution} cancelled ({len(cancelled)} in all).")
    if is_partial(request):
        return render(request, QUEUE, queue_part(space))
    return redirect("studio:queue", space.name)
