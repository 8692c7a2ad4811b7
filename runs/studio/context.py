"""The chrome every Studio page draws: the project, the workspace switcher drawn as the
inheritance tree, the sidebar of modules with their workflows and tasks and how many of each
are running or queued, and the URL of the page's live websocket; and a workspace's page drawn
with it.

The sidebar lives in ``runs`` because it counts executions; a page of a higher app (assets)
imports it from here. A fixed number of queries whatever the number of modules or targets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count
from django.http import HttpRequest, HttpResponse

from projects.models import Project, WorkerSession
from projects.permissions import Action, may
from runs.models import Execution
from runs.orchestration.records import declared_targets
from runs.states import State
from runs.studio.http import render_page, studio_project
from workspaces.models import Target, Workspace

LIVE_PATH = "/studio/live"
"""The Studio websocket (``runs.studio.live``), routed in ``coflux_server.asgi``."""


@dataclass
class WorkspaceNode:
    workspace: Workspace
    children: list[WorkspaceNode] = field(default_factory=list)


def live_workspaces(project: Project | int) -> list[Workspace]:
    """The project's live workspaces by name: the order the chrome's tree is built in, so that
    a page that read them already (the step panel's re-run choices) can hand them over."""
    return list(Workspace.objects.live(project).order_by("name", "id"))


def workspace_tree(
    project: Project, workspaces: list[Workspace] | None = None
) -> list[WorkspaceNode]:
    """The project's live workspaces (read unless the page has them, by name) as trees by base,
    roots and children by name."""
    if workspaces is None:
        workspaces = live_workspaces(project)
    nodes = {workspace.pk: WorkspaceNode(workspace) for workspace in workspaces}
    roots: list[WorkspaceNode] = []
    for workspace in workspaces:
        parent = nodes.get(workspace.base_id) if workspace.base_id is not None else None
        if parent is None or _based_on(nodes, parent.workspace, workspace.pk):
            # No live base, or a loop of bases (which the actions refuse): drawn as a root.
            roots.append(nodes[workspace.pk])
        else:
            parent.children.append(nodes[workspace.pk])
    return roots


def _based_on(nodes: dict[int, WorkspaceNode], workspace: Workspace, pk: int) -> bool:
    """Whether ``workspace`` is (or descends from) the workspace ``pk``."""
    seen: set[int] = set()
    node: Workspace | None = workspace
    while node is not None and node.pk not in seen:
        if node.pk == pk:
            return True
        seen.add(node.pk)
        parent = nodes.get(node.base_id) if node.base_id is not None else None
        node = parent.workspace if parent is not None else None
    return False


@dataclass(frozen=True)
class WorkspaceRow:
    workspace: Workspace
    depth: int

    @property
    def level(self) -> int:
        """The depth the stylesheet indents (it stops indenting deeper than 8)."""
        return min(self.depth, 8)

    @property
    def indent(self) -> str:
        """Text that draws the row's place in the tree, for a select's options."""
        return "\u2003" * max(self.depth - 1, 0) + "↳ " if self.depth else ""


def workspace_rows(tree: list[WorkspaceNode]) -> list[WorkspaceRow]:
    """The tree flattened in drawing order: each workspace with its depth (0 for roots)."""
    rows: list[WorkspaceRow] = []
    stack = [(node, 0) for node in reversed(tree)]
    while stack:
        node, depth = stack.pop()
        rows.append(WorkspaceRow(node.workspace, depth))
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return rows


@dataclass
class SidebarTarget:
    name: str
    kind: str
    running: int = 0
    queued: int = 0


@dataclass
class SidebarModule:
    name: str
    workflows: list[SidebarTarget] = field(default_factory=list)
    tasks: list[SidebarTarget] = field(default_factory=list)

    @property
    def running(self) -> int:
        return sum(t.running for t in [*self.workflows, *self.tasks])

    @property
    def queued(self) -> int:
        return sum(t.queued for t in [*self.workflows, *self.tasks])


def sidebar(workspace: Workspace) -> list[SidebarModule]:
    """The workspace's modules: registered workflows, tasks its live workers declare, and any
    target with unfinished executions; each with its running and queued counts."""
    targets: dict[tuple[str, str], SidebarTarget] = {}

    def target(module: str, name: str, kind: str) -> SidebarTarget:
        key = (module, name)
        if key not in targets:
            targets[key] = SidebarTarget(name, kind)
        return targets[key]

    registered = Target.objects.filter(
        module__workspace=workspace, module__archived=False
    ).values_list("module__name", "name", "kind")
    for module, name, kind in registered:
        target(module, name, kind)
    declared = WorkerSession.objects.filter(workspace=workspace, expired_at=None).values_list(
        "targets", flat=True
    )
    for declaration in declared:
        for module, name, kind in sorted(declared_targets(declaration) or ()):
            target(module, name, kind)
    counts = (
        Execution.objects.filter(workspace=workspace, state__in=[State.QUEUED, State.ASSIGNED])
        .values_list("step__module", "step__target", "step__target_type", "state")
        .annotate(n=Count("id"))
    )
    for module, name, kind, state, n in counts:
        found = target(module, name, kind)
        if state == State.ASSIGNED:
            found.running += n
        else:
            found.queued += n
    modules: dict[str, SidebarModule] = defaultdict(lambda: SidebarModule(""))
    for (module, _), found in sorted(targets.items()):
        entry = modules[module]
        entry.name = module
        (entry.workflows if found.kind == Target.Kind.WORKFLOW else entry.tasks).append(found)
    return [modules[name] for name in sorted(modules)]


def live_url(
    *,
    workspace: Workspace | None = None,
    run: str | None = None,
    page: str = "",
    params: dict[str, str] | None = None,
) -> str:
    """The websocket a page opens: what it shows (``page``: overview, workflow, module,
    workers, queue, run) and for which workspace and run, with the page's own filters so that
    pushed partials are drawn as the page drew them."""
    query: dict[str, str] = {}
    if page:
        query["page"] = page
    if workspace is not None:
        query["workspace"] = str(workspace.pk)
    if run is not None:
        query["run"] = run
    query.update(params or {})
    return f"{LIVE_PATH}?{urlencode(query)}"


def chrome(
    request: HttpRequest,
    workspace: Workspace | None,
    *,
    live: str | None = None,
    project: Project | None = None,
    modules: list[SidebarModule] | None = None,
    workspaces: list[Workspace] | None = None,
) -> dict[str, Any]:
    """The context ``templates/studio/base.html`` needs; ``live`` from ``live_url``;
    ``modules`` the sidebar and ``workspaces`` the project's live ones by name, if the page has
    them already.

    ``may_operate``, ``may_manage`` and ``may_create`` say which of the chrome's actions the
    user may take (pausing and resuming, archiving, creating a workspace), so that pages offer
    only those; without ``may_operate`` the page hides the run actions (``operate-only``).
    """
    if project is None:
        project = workspace.project if workspace is not None else studio_project()
    return {
        "project": project,
        "workspace": workspace,
        "workspace_rows": workspace_rows(workspace_tree(project, workspaces)),
        "sidebar": modules if modules is not None else sidebar(workspace) if workspace else [],
        "live_url": live,
        "may_operate": may(request.user, Action.OPERATE, workspace),
        "may_manage": may(request.user, Action.MANAGE, workspace),
        "may_create": may(request.user, Action.MANAGE, project_id=project.id),
    }


def workspace_page(
    request: HttpRequest,
    space: Workspace,
    template: str,
    context: dict[str, Any],
    *,
    page: str,
    partial: str,
    params: dict[str, str] | None = None,
    filtered: bool = False,
    modules: list[SidebarModule] | None = None,
    status: int = 200,
) -> HttpResponse:
    """A page of the workspace ``space`` with its chrome, or for htmx its ``partial``; its
    websocket pushes ``page`` (with the page's ``params``). The partial of a ``filtered`` page
    carries that websocket's address, which a filter changed; ``modules`` is the sidebar when
    the page has it already."""
    live = live_url(workspace=space, page=page, params=params)
    return render_page(
        request,
        template,
        context,
        chrome=lambda: chrome(request, space, live=live, modules=modules),
        partial=partial,
        live=live if filtered else None,
        status=status,
    )
