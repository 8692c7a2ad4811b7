"""Inputs in Studio: the workspace's inputs page, and answering a prompt (from that page or the
run page). Who may answer: those who may respond in the workspace
(``projects.permissions.may(user, Action.RESPOND, workspace)``, else 403) and are in the groups
the input's ``requires`` names (else the card says whom it is for)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from projects.errors import DomainError
from projects.permissions import Action, meets_requires
from runs.inputs import check_requires, dismiss_input, respond_input
from runs.models import Input
from runs.studio.context import workspace_page
from runs.studio.http import is_partial, require, studio_project, studio_view, studio_workspace
from runs.studio.prompts import (
    INPUTS,
    PROMPT,
    FormError,
    inputs_part,
    prompt_of,
    response_from,
)


@require_GET
@studio_view
def inputs(request: HttpRequest, workspace: str) -> HttpResponse:
    space = studio_workspace(request, workspace)
    context = inputs_part(space, request.user)
    return workspace_page(
        request, space, "studio/inputs.html", context, page="inputs", partial=INPUTS
    )


@require_POST
@studio_view
def respond(request: HttpRequest, run_id: str, number: str) -> HttpResponse:
    """Answer a prompt with its form's values; for htmx its card drawn again."""
    found = _input_or_404(run_id, number)
    require(request, Action.RESPOND, found.workspace)
    view = prompt_of(found, True)
    try:
        check_requires(request.user, found)
        value = response_from(found.schema, view.fields, request.POST)
        respond_input(studio_project(), found.id, value, by=request.user.get_username())
    except (FormError, DomainError) as error:
        return _answered(request, found, str(getattr(error, "message", error)))
    return _answered(request, found, "")


@require_POST
@studio_view
def dismiss(request: HttpRequest, run_id: str, number: str) -> HttpResponse:
    found = _input_or_404(run_id, number)
    require(request, Action.RESPOND, found.workspace)
    try:
        check_requires(request.user, found)
        dismiss_input(studio_project(), found.id, by=request.user.get_username())
    except DomainError as error:
        return _answered(request, found, error.message)
    return _answered(request, found, "")


def _input_or_404(run_id: str, number: str) -> Input:
    found = (
        Input.objects.filter(id=f"{run_id}/{number}", run__project=studio_project())
        .select_related("workspace")
        .first()
    )
    if found is None:
        raise Http404(f"No input {run_id}/{number}.")
    return found


def _answered(request: HttpRequest, found: Input, error: str) -> HttpResponse:
    found.refresh_from_db()
    if is_partial(request):
        # An error is drawn in the card (htmx swaps only successful responses).
        view = prompt_of(found, meets_requires(request.user, found.requires), error)
        context = {"p": view, "next": request.POST.get("next", "")}
        return render(request, PROMPT, context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Input {found.id} {found.state}.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("studio:run", found.run_id)
