""" "Go to…" (Ctrl-K): modules, workflows, tasks and run IDs matching what the user typed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import reverse

from projects.models import Project
from runs.models import Run
from runs.studio.context import sidebar
from runs.studio.links import run_url
from workspaces.models import Workspace

LIMIT = 20
RUN_LIMIT = 8
_RUN_REF = re.compile(r"^(?P<run>[A-Za-z0-9]+)(?::(?P<step>\d{1,9})(?::(?P<attempt>\d{1,9}))?)?$")


@dataclass(frozen=True)
class GotoResult:
    kind: str
    label: str
    url: str
    detail: str = ""


def search(project: Project, workspace: Workspace, query: str) -> list[GotoResult]:
    """What ``query`` names: runs by ID prefix (``R…``, ``R…:step``, ``R…:step:attempt``) in
    the project, then the workspace's modules and targets whose names contain it."""
    query = query.strip()
    results: list[GotoResult] = []
    reference = _RUN_REF.match(query)
    if reference:
        runs = Run.objects.filter(project=project, id__istartswith=reference["run"]).order_by(
            "-created_at"
        )
        for run in runs.only("id", "created_at")[:RUN_LIMIT]:
            label = ":".join(p for p in (run.id, reference["step"], reference["attempt"]) if p)
            url = run_url(run.id, reference["step"], reference["attempt"])
            results.append(GotoResult("run", label, url, run.created_at.strftime("%Y-%m-%d %H:%M")))
    needle = query.lower()
    for module in sidebar(workspace):
        module_url = reverse("studio:module", args=[workspace.name, module.name])
        if needle in module.name.lower():
            results.append(GotoResult("module", module.name, module_url))
        for target in module.workflows:
            if needle in target.name.lower() or needle in f"{module.name}/{target.name}".lower():
                url = reverse("studio:workflow", args=[workspace.name, module.name, target.name])
                results.append(GotoResult("workflow", target.name, url, module.name))
        for target in module.tasks:
            if needle in target.name.lower() or needle in f"{module.name}/{target.name}".lower():
                results.append(GotoResult("task", target.name, module_url, module.name))
    return results[:LIMIT]
