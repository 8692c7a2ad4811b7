"""The parts of the workspace pages that move: each drawn by one function, for the page's
view and for the live socket alike, so a pushed part is the part the page drew.

Each ``*_part`` function returns the context of its partial template; ``draw`` renders one
(``runs.studio.live`` calls it with no request: partials take their CSRF token from htmx's
header, which ``static/studio/studio.js`` adds to every request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from runs.studio.context import sidebar
from runs.studio.queries import module_queue, worker_sessions
from runs.studio.runlist import RunFilters, run_page
from runs.studio.waiting import explain_queue
from workspaces.models import Workspace

SIDEBAR = "studio/chrome/_sidebar.html"
RUNS = "studio/runs/_list.html"
MODULE_QUEUE = "studio/module/_queue.html"
SESSIONS = "studio/workers/_sessions.html"
QUEUE = "studio/queue/_entries.html"


def sidebar_part(workspace: Workspace) -> dict[str, Any]:
    return {"workspace": workspace, "sidebar": sidebar(workspace)}


def runs_part(
    workspace: Workspace, params: Mapping[str, str], workflow: tuple[str, str] | None = None
) -> dict[str, Any]:
    """A page of runs as ``params`` filter them; of one workflow (``(module, target)``) on its
    page, whose URL the list's links then keep."""
    if workflow is not None:
        filters = RunFilters.parse(params, workflow="/".join(workflow))
        url = reverse("studio:workflow", args=[workspace.name, *workflow])
    else:
        filters = RunFilters.parse(params)
        url = reverse("studio:overview", args=[workspace.name])
    return {"workspace": workspace, "runs": run_page(workspace, filters), "list_url": url}


def module_queue_part(workspace: Workspace, module: str) -> dict[str, Any]:
    return {"workspace": workspace, "queue": module_queue(workspace, module)}


def sessions_part(workspace: Workspace) -> dict[str, Any]:
    return {"workspace": workspace, "sessions": worker_sessions(workspace)}


def queue_part(workspace: Workspace) -> dict[str, Any]:
    return {"workspace": workspace, "entries": explain_queue(workspace)}


def draw(template: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
    return render_to_string(template, context, request=request)


def growing(context: dict[str, Any]) -> bool:
    """Whether a drawn part shows times that grow (a run going on, something waiting), so the
    live socket draws it again after a while though nothing happened."""
    if "runs" in context:
        return any(not row.finished for row in context["runs"].rows)
    if "queue" in context:
        queue = context["queue"]
        return bool(queue.executing or queue.due or queue.scheduled)
    return bool(context.get("entries") or context.get("sessions"))
