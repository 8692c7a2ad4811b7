"""What every Studio view needs: the project, the logged-in user's rights, finding a workspace,
and rendering either the whole page or, for an htmx request, the partial it asks for."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from projects.models import Project
from projects.permissions import Action, may
from workspaces.models import Workspace

P = ParamSpec("P")
LIVE = "studio/chrome/_live.html"


def studio_project() -> Project:
    """The project this server's Studio shows (``COFLUX_PROJECT``)."""
    return Project.objects.ensure(settings.COFLUX_PROJECT)


def require(request: HttpRequest, action: Action, workspace: Workspace | str | None = None) -> None:
    """Refuse (403) unless the user may do ``action`` in ``workspace`` (or the workspace of
    that name, e.g. one about to be created)."""
    project_id = studio_project().id if isinstance(workspace, str) else None
    if not may(request.user, action, workspace, project_id=project_id):
        raise PermissionDenied(f"You may not {action} here.")


def studio_workspace(request: HttpRequest, name: str, action: Action = Action.VIEW) -> Workspace:
    """The project's live workspace of that name (any case), with its base and its project,
    if the user may do ``action`` there: else 404, or 403."""
    project = studio_project()
    found = Workspace.objects.live(project).filter(name__iexact=name).select_related("base").first()
    if found is None:
        raise Http404(f"No workspace named {name!r}.")
    found.project = project
    require(request, action, found)
    return found


def studio_view(view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """A Studio page: a logged-in user is required (others go to the login page)."""
    return wraps(view)(login_required(view))


def is_partial(request: HttpRequest) -> bool:
    """Whether htmx asks for a part of the page (a swap), rather than a whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    chrome: Callable[[], dict[str, Any]],
    partial: str | None = None,
    live: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The full page with its chrome, or ``partial`` alone when htmx asks for it (the chrome,
    which costs queries, is then not built). Partials are template files that the page
    includes, so that the two never drift apart.

    ``live`` is the page's websocket URL for what the request shows: a partial carries it out
    of band, so that after a filter or a page changed, the socket pushes that view.
    """
    if partial is not None and is_partial(request):
        html = render_to_string(partial, context, request=request)
        if live is not None:
            html += render_to_string(LIVE, {"live_url": live, "oob": True})
        return HttpResponse(html, status=status)
    return render(request, template, {**chrome(), **context}, status=status)
