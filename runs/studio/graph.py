"""The run graph: which steps and attempts to draw, how they connect, and where they go.

Computed here in Python from a run's outline and drawn by the template as SVG, so the browser
only pans and zooms. STUDIO.md "The run graph" is the brief:

- One node per step, from the step's root down through the calls of the attempt shown: the
  latest attempt of each step, or, when a step is selected, the lineage that produced the
  selected attempt (its parent's attempt, that one's parent's, up to the root) pinned.
- Edges go from a caller to what it called: solid when the caller used the result (a recorded
  dependency), dashed when it never did, dotted to the assets an attempt made (three, then a
  "+N more" node). A dependency on a step the attempt did not call (a memo hit, an execution
  passed in) is a solid edge too. Spawned runs, the parent run and executions of other runs
  are pill nodes linking to those runs.
- The calls made in one ``cf.group`` are one node showing one member (the selected one, else
  the first that failed, else the latest) under a header counting the members' states.
- Layered left to right by call depth; within a layer in creation order, a node on the row of
  its caller or below, so that the layout keeps its shape as the run grows.
- Above ``NODE_CAP`` nodes the graph is a summary (counts per target and state) instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runs.states import State
from runs.studio.outline import Attempt, Outline, StepOutline, counts_by_state

NODE_CAP = 1000
"""Drawn nodes (after collapsing groups) above which the graph becomes a summary."""
ASSETS_SHOWN = 3

NODE_WIDTH = 200
NODE_HEIGHT = 44
PILL_WIDTH = 168
PILL_HEIGHT = 26
COLUMN_GAP = 72
ROW_PITCH = 84
"""Vertical distance between rows: a node plus a group's header above it."""
MARGIN = 28
MAX_DISPLAY_HEIGHT = 640
CURVE = 48
MODULE_CHARS = 30
TARGET_CHARS = 24

FAILED_STATES = frozenset({State.FAILED, State.TIMED_OUT, State.ABANDONED})

StepUrl = Callable[[int, int | None], str]


@dataclass
class GroupHeader:
    name: str
    total: int
    counts: dict[str, int]
    picker_url: str


@dataclass
class Node:
    key: str
    kind: str
    """``step``, ``run`` (a pill), ``asset`` or ``more`` (the assets not drawn)."""
    label: str
    title: str
    href: str
    sublabel: str = ""
    state: str = ""
    step: StepOutline | None = None
    attempt: Attempt | None = None
    root: bool = False
    stacked: bool = False
    icon: str = ""
    icon_title: str = ""
    badge: str = ""
    stale: bool = False
    selected: bool = False
    lineage: bool = False
    group: GroupHeader | None = None
    layer: int = 0
    row: int = 0
    x: int = 0
    y: int = 0
    width: int = NODE_WIDTH
    height: int = NODE_HEIGHT

    @property
    def step_id(self) -> str:
        return self.step.id if self.step is not None else ""

    @property
    def middle_y(self) -> int:
        return self.y + self.height // 2


@dataclass
class Edge:
    source: str
    target: str
    kind: str
    """``result`` (solid), ``call`` (dashed) or ``asset`` (dotted)."""
    source_step: str = ""
    target_step: str = ""
    lineage: bool = False
    path: str = ""


@dataclass
class SummaryRow:
    module: str
    target: str
    total: int
    counts: dict[str, int]


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    width: int = 0
    height: int = 0
    summary: list[SummaryRow] | None = None
    drawn: int = 0
    """How many nodes the graph has (or would have, for a summary)."""

    @property
    def display_height(self) -> int:
        """The height the drawing starts at on the page; taller graphs pan and zoom."""
        return min(self.height, MAX_DISPLAY_HEIGHT)


class _TooBig(Exception):
    pass


def build_graph(
    outline: Outline,
    *,
    step_url: StepUrl,
    run_url: Callable[[str], str],
    asset_url: Callable[[str], str],
    picker_url: Callable[[str, int], str],
    selected: tuple[int, int | None] | None = None,
    now: datetime,
    cap: int = NODE_CAP,
) -> Graph:
    """The graph of ``outline``; ``selected`` is ``(step number, attempt or None)``."""
    builder = _Builder(outline, step_url, run_url, asset_url, picker_url, now, cap)
    try:
        builder.walk(selected)
    except _TooBig:
        return Graph(summary=summarise(outline), drawn=builder.count)
    return builder.layout()


def summarise(outline: Outline) -> list[SummaryRow]:
    """Counts of the latest attempts' states per target, in order of first appearance."""
    by_target: dict[tuple[str, str], list[Attempt | None]] = defaultdict(list)
    for step in outline.steps:
        by_target[(step.module, step.target)].append(step.latest)
    return [
        SummaryRow(module, target, len(attempts), counts_by_state(attempts))
        for (module, target), attempts in by_target.items()
    ]


def stale_executions(outline: Outline) -> set[str]:
    """The executions that used a result a later attempt of its step replaced with a different
    one, and, recursively, the executions that used theirs."""
    executions = outline.executions
    stale: set[str] = set()
    for execution in executions.values():
        for dependency_id, _memo in execution.dependencies:
            if _replaced(outline, dependency_id):
                stale.add(execution.id)
                break
    users: dict[str, list[str]] = defaultdict(list)
    for execution in executions.values():
        for dependency_id, _memo in execution.dependencies:
            users[dependency_id].append(execution.id)
    pending = list(stale)
    while pending:
        for user in users.get(pending.pop(), ()):
            if user not in stale:
                stale.add(user)
                pending.append(user)
    return stale


def _replaced(outline: Outline, dependency_id: str) -> bool:
    """Whether the result ``dependency_id`` gave (following forwards within its step) has since
    been replaced by a newer attempt of the step that succeeded with a different value."""
    step = outline.step_of(dependency_id)
    used = outline.executions.get(dependency_id)
    if step is None or used is None or len(step.attempts) < 2:
        return False
    seen = {used.id}
    while used.successor and used.successor.rsplit(":", 1)[0] == step.id:
        following = outline.executions.get(used.successor)
        if following is None or following.id in seen:
            break
        seen.add(following.id)
        used = following
    newer = [a for a in step.attempts if a.attempt > used.attempt and a.state == State.SUCCEEDED]
    if not newer:
        return False
    return outline.values.get(newer[-1].id) != outline.values.get(used.id)


class _Builder:
    def __init__(
        self,
        outline: Outline,
        step_url: StepUrl,
        run_url: Callable[[str], str],
        asset_url: Callable[[str], str],
        picker_url: Callable[[str, int], str],
        now: datetime,
        cap: int,
    ) -> None:
        self.outline = outline
        self.step_url = step_url
        self.run_url = run_url
        self.asset_url = asset_url
        self.picker_url = picker_url
        self.now = now
        self.cap = cap
        self.count = 0
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.edge_keys: set[tuple[str, str]] = set()
        self.tree_parent: dict[str, str] = {}
        self.order: list[str] = []
        self.children: dict[str, list[StepOutline]] = defaultdict(list)
        for step in outline.steps:
            if step.parent:
                self.children[step.parent].append(step)
        self.pinned: dict[str, Attempt] = {}
        self.lineage: set[str] = set()
        self.selected_step: str = ""
        self.stale = stale_executions(outline)
        self.memoised = {
            dependency
            for execution in outline.executions.values()
            for dependency, memo in execution.dependencies
            if memo
        }
        self.node_of_step: dict[str, str] = {}

    # --- which nodes ------------------------------------------------------------------------

    def shown(self, step: StepOutline) -> Attempt | None:
        return self.pinned.get(step.id) or step.latest

    def walk(self, selected: tuple[int, int | None] | None) -> None:
        self._pin(selected)
        root = self.outline.root
        if root is None:
            return
        caller = self.outline.run.parent_id
        pill = None
        if caller:
            pill = self._add_pill(caller.split(":", 1)[0], None, f"Parent run (called by {caller})")
            self.nodes[pill].sublabel = "parent run"
        root_key = self._add_step(root, pill)
        if pill is not None:
            self._edge(pill, root_key, "call", target_step=root.id)
        expanded: set[str] = set()
        stack = [root]
        while stack:
            step = stack.pop()
            attempt = self.shown(step)
            if attempt is None or step.id in expanded:
                continue
            expanded.add(step.id)
            stack.extend(reversed(self._expand(step, attempt)))

    def _pin(self, selected: tuple[int, int | None] | None) -> None:
        if selected is None:
            return
        number, attempt_number = selected
        step = next((s for s in self.outline.steps if s.number == number), None)
        if step is None:
            return
        attempt = next((a for a in step.attempts if a.attempt == attempt_number), None)
        attempt = attempt or step.latest
        self.selected_step = step.id
        while step is not None and attempt is not None and step.id not in self.pinned:
            self.pinned[step.id] = attempt
            self.lineage.add(attempt.id)
            parent_id = step.parent
            step = self.outline.step_of(parent_id) if parent_id else None
            attempt = self.outline.executions.get(parent_id) if parent_id else None

    def _expand(self, step: StepOutline, attempt: Attempt) -> list[StepOutline]:
        """Add what ``attempt`` called, used and made; return the steps to expand next."""
        source = self.node_of_step[step.id]
        used_steps = {dependency.rsplit(":", 1)[0] for dependency, _memo in attempt.dependencies}
        following: list[StepOutline] = []
        groups: dict[int, list[StepOutline]] = {}
        called: list[StepOutline | int] = []
        for child in self.children.get(attempt.id, ()):
            if child.group is None:
                called.append(child)
            elif child.group in groups:
                groups[child.group].append(child)
            else:
                groups[child.group] = [child]
                called.append(child.group)
        for item in called:
            if isinstance(item, int):
                members = groups[item]
                member = self._member(members)
                key = self._add_step(member, source, group=(attempt.id, item, members))
                for other in members:
                    self.node_of_step.setdefault(other.id, key)
                used = any(m.id in used_steps for m in members)
            else:
                member = item
                key = self._add_step(member, source)
                used = member.id in used_steps
            self._edge(
                source,
                key,
                "result" if used else "call",
                source_step=step.id,
                target_step=member.id,
            )
            following.append(member)
        called_ids = {child.id for child in self.children.get(attempt.id, ())}
        for dependency, _memo in attempt.dependencies:
            target_step = dependency.rsplit(":", 1)[0]
            if target_step in called_ids:
                continue
            known = self.outline.step_by_id.get(target_step)
            if known is None:
                run_id = dependency.split(":", 1)[0]
                key = self._add_pill(run_id, source, f"{dependency} (another run)")
                self._edge(source, key, "result", source_step=step.id)
                continue
            if target_step in self.node_of_step:
                key = self.node_of_step[target_step]
            else:
                key = self._add_step(known, source)
                following.append(known)
            self._edge(source, key, "result", source_step=step.id, target_step=target_step)
        for run_id in attempt.spawned:
            key = self._add_pill(run_id, source, f"Spawned run {run_id}")
            self._edge(source, key, "call", source_step=step.id)
        for asset_id, name in attempt.assets[:ASSETS_SHOWN]:
            key = self._add(
                Node(
                    key=f"asset:{asset_id}",
                    kind="asset",
                    label=_clip(name or asset_id, 18),
                    title=f"Asset {asset_id}" + (f" ({name})" if name else ""),
                    href=self.asset_url(asset_id),
                    sublabel="asset",
                    width=PILL_WIDTH,
                    height=PILL_HEIGHT,
                ),
                source,
            )
            self._edge(source, key, "asset", source_step=step.id)
        hidden = len(attempt.assets) - ASSETS_SHOWN
        if hidden > 0:
            key = self._add(
                Node(
                    key=f"more:{attempt.id}",
                    kind="more",
                    label=f"+{hidden} more",
                    title=f"{hidden} more assets of {attempt.id}",
                    href=self.step_url(step.number, attempt.attempt),
                    width=PILL_WIDTH,
                    height=PILL_HEIGHT,
                ),
                source,
            )
            self._edge(source, key, "asset", source_step=step.id)
        return following

    def _member(self, members: list[StepOutline]) -> StepOutline:
        """The member a group shows: the one in the selected lineage, else the first whose
        latest attempt failed, else the latest."""
        for member in members:
            if member.id in self.pinned:
                return member
        for member in members:
            latest = member.latest
            if latest is not None and latest.state in FAILED_STATES:
                return member
        return members[-1]

    def _add(self, node: Node, parent: str | None) -> str:
        if node.key in self.nodes:
            return node.key
        self.count += 1
        if self.count > self.cap:
            raise _TooBig
        self.nodes[node.key] = node
        self.order.append(node.key)
        if parent is not None:
            self.tree_parent[node.key] = parent
        return node.key

    def _add_pill(self, run_id: str, parent: str | None, title: str) -> str:
        return self._add(
            Node(
                key=f"run:{run_id}",
                kind="run",
                label=run_id,
                title=title,
                href=self.run_url(run_id),
                sublabel="run",
                state=self.outline.spawned_status.get(run_id, ""),
                width=PILL_WIDTH,
                height=PILL_HEIGHT,
            ),
            parent,
        )

    def _add_step(
        self,
        step: StepOutline,
        parent: str | None,
        group: tuple[str, int, list[StepOutline]] | None = None,
    ) -> str:
        attempt = self.shown(step)
        node = Node(
            key=f"step:{step.id}",
            kind="step",
            label=_clip(step.target, TARGET_CHARS),
            sublabel=_clip(step.module, MODULE_CHARS),
            title=f"{step.module}/{step.target} ({step.id})",
            href=self.step_url(step.number, attempt.attempt if attempt else None),
            state=attempt.state if attempt is not None else State.QUEUED,
            step=step,
            attempt=attempt,
            root=step.number == 1,
            stacked=len(step.attempts) > 1,
            selected=step.id == self.selected_step,
            lineage=attempt is not None and attempt.id in self.lineage,
        )
        if attempt is not None:
            node.stale = attempt.id in self.stale
            node.icon, node.icon_title = self._icon(attempt, node.stale)
            if attempt.workspace != self.outline.run.workspace.name:
                node.badge = attempt.workspace
        if group is not None:
            parent_execution, number, members = group
            name = members[0].group_name
            node.key = f"group:{parent_execution}:{number}"
            node.group = GroupHeader(
                name=name or f"group {number}",
                total=len(members),
                counts=counts_by_state([m.latest for m in members]),
                picker_url=self.picker_url(parent_execution, number),
            )
        self.node_of_step[step.id] = node.key
        return self._add(node, parent)

    def _icon(self, attempt: Attempt, stale: bool) -> tuple[str, str]:
        """The most telling fact about an attempt, as an icon name and its explanation."""
        if stale:
            return "stale", "Stale: a step whose result it used was re-run with another result"
        if attempt.result_type == "cached" and attempt.successor:
            source_run = attempt.successor.split(":", 1)[0]
            where = "this run" if source_run == self.outline.run.id else f"run {source_run}"
            return "cached", f"Cached: the result of {attempt.successor} ({where})"
        if attempt.id in self.memoised:
            return "memoised", "Memoised: later calls reused this result"
        if attempt.state == State.DEFERRED:
            return "deferred", f"Deferred to {attempt.successor or 'a newer call'}"
        if attempt.state == State.SUSPENDED:
            return "suspended", "Suspended: resumed as a later attempt"
        if attempt.state == State.QUEUED:
            if attempt.execute_after is not None and attempt.execute_after > self.now:
                return "scheduled", f"Due at {attempt.execute_after:%Y-%m-%d %H:%M:%S} UTC"
            return "waiting", "Waiting for a worker (or for what it waits on)"
        return "", ""

    def _edge(
        self,
        source: str,
        target: str,
        kind: str,
        *,
        source_step: str = "",
        target_step: str = "",
    ) -> None:
        if (source, target) in self.edge_keys:
            return
        self.edge_keys.add((source, target))
        source_node, target_node = self.nodes[source], self.nodes[target]
        lineage = bool(
            source_node.attempt
            and target_node.attempt
            and source_node.attempt.id in self.lineage
            and target_node.attempt.id in self.lineage
        )
        self.edges.append(Edge(source, target, kind, source_step, target_step, lineage))

    # --- where they go ----------------------------------------------------------------------

    def layout(self) -> Graph:
        """Place each node in the column of its depth, its first callee on its row, each next
        callee below the previous one's whole subtree, nothing over a node already placed."""
        children: dict[str | None, list[str]] = defaultdict(list)
        for key in self.order:
            children[self.tree_parent.get(key)].append(key)
        next_free: dict[int, int] = defaultdict(int)

        def place(key: str, layer: int, top: int) -> list[Any]:
            node = self.nodes[key]
            node.layer = layer
            node.row = max(top, next_free[layer])
            next_free[layer] = node.row + 1
            return [key, 0, node.row, node.row]  # key, next child, bottom row, next child's top

        top = 0
        for root in children[None]:
            stack = [place(root, 0, top)]
            while stack:
                frame = stack[-1]
                key, index, bottom, child_top = frame
                callees = children.get(key, [])
                if index < len(callees):
                    frame[1] += 1
                    stack.append(place(callees[index], self.nodes[key].layer + 1, child_top))
                    continue
                stack.pop()
                if stack:
                    stack[-1][2] = max(stack[-1][2], bottom)
                    stack[-1][3] = bottom + 1
                else:
                    top = bottom + 1
        for key in self.order:
            node = self.nodes[key]
            column_x = MARGIN + node.layer * (NODE_WIDTH + COLUMN_GAP)
            node.x = column_x + (NODE_WIDTH - node.width) // 2 if node.kind != "step" else column_x
            node.y = MARGIN + node.row * ROW_PITCH + (ROW_PITCH - node.height) // 2
        for edge in self.edges:
            edge.path = _path(self.nodes[edge.source], self.nodes[edge.target])
        nodes = [self.nodes[key] for key in self.order]
        width = max((n.x + n.width for n in nodes), default=0) + MARGIN
        height = max((n.y + n.height for n in nodes), default=0) + MARGIN
        return Graph(nodes, self.edges, width, height, None, len(nodes))


def _path(source: Node, target: Node) -> str:
    """A curve from the right of ``source`` to the left of ``target``."""
    x1, y1 = source.x + source.width, source.middle_y
    x2, y2 = target.x, target.middle_y
    if x2 > x1:
        bend = min(CURVE, (x2 - x1) // 2 + 8)
        return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
    # A use of a step drawn in the same column or left of it: loop around below.
    drop = max(y1, y2) + ROW_PITCH // 2
    middle = (x1 + x2) // 2
    return (
        f"M{x1},{y1} C{x1 + CURVE},{y1} {x1 + CURVE},{drop} {middle},{drop} "
        f"S{x2 - CURVE},{y2} {x2},{y2}"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
