"""The pools page of a workspace: its pools and the workers they launched, and enabling or
disabling a pool (each asks first)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from projects.errors import DomainError
from projects.permissions import Action
from runs.studio.context import chrome, live_url
from runs.studio.http import (
    is_partial,
    render_page,
    require,
    studio_project,
    studio_view,
    workspace_or_404,
)
from runs.studio.pools_page import CONFIGURE, POOLS, pools_part
from workspaces.models import Pool
from workspaces.pools import set_pool_state


@require_GET
@studio_view
def pools(request: HttpRequest, workspace: str) -> HttpResponse:
    project = studio_project()
    space = workspace_or_404(project, workspace)
    require(request, Action.VIEW, space)
    live = live_url(workspace=space, page="pools")
    return render_page(
        request,
        "studio/pools.html",
        pools_part(space, request.user),
        chrome=lambda: chrome(request, space, live=live, project=project),
        partial=POOLS,
    )


@require_POST
@studio_view
def set_state(request: HttpRequest, workspace: str, pool: str) -> HttpResponse:
    """Enable or disable a pool (``state`` = active | disabled); back to the pools page, or for
    htmx its part drawn again."""
    space = workspace_or_404(studio_project(), workspace)
    require(request, CONFIGURE, space)
    state = request.POST.get("state", "")
    try:
        if state not in Pool.State.values:
            raise DomainError(f"A pool is active or disabled, not {state!r}.")
        set_pool_state(space, pool, Pool.State(state))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        verb = "enabled" if state == Pool.State.ACTIVE else "disabled: its workers drain and stop"
        messages.success(request, f"Pool {pool} {verb}.")
    if is_partial(request):
        return render(request, POOLS, pools_part(space, request.user))
    return redirect("studio:pools", space.name)
