"""The pools page of a workspace: its pools and the workers they launched, and enabling or
disabling a pool (each asks first)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from projects.errors import DomainError
from runs.studio.context import workspace_page
from runs.studio.http import is_partial, studio_view, studio_workspace
from runs.studio.pools_page import CONFIGURE, POOLS, pools_part
from workspaces.models import Pool
from workspaces.pools import set_pool_state


@require_GET
@studio_view
def pools(request: HttpRequest, workspace: str) -> HttpResponse:
    space = studio_workspace(request, workspace)
    context = pools_part(space, request.user)
    return workspace_page(request, space, "studio/pools.html", context, page="pools", partial=POOLS)


@require_POST
@studio_view
def set_state(request: HttpRequest, workspace: str, pool: str) -> HttpResponse:
    """Enable or disable a pool (``state`` = active | disabled); back to the pools page, or for
    htmx its part drawn again."""
    space = studio_workspace(request, workspace, CONFIGURE)
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
