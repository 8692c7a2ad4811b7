"""The step panel: one step of a run, one of its attempts, everything recorded about it.

Loaded for the one step the page selects, in a fixed number of queries: the step with its
attempts and their results, what the shown attempt used and who used it, the steps it called,
its log count and assets. Values are drawn by the one value renderer (``values_view``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Window
from django.utils.safestring import SafeString

from runs.models import Dependency, Execution, Result, Run, Step
from runs.snapshots import final_result
from runs.states import UNFINISHED
from runs.studio import links
from runs.studio.context import live_workspaces
from runs.studio.durations import duration
from runs.studio.log_view import execution_log_count
from runs.studio.values_view import render_value, short_text
from workspaces.models import Target, Workspace

PANEL_TABS = ("overview", "logs", "timing", "cache", "connections")
CHILDREN_SHOWN = 100

FORWARD_LABELS = {
    "suspended": "Suspended; resumed as",
    "recurred": "Returned nothing; recurred as",
    "deferred": "Deferred to the newer call",
    "cached": "Cached: the result of",
    "spawned": "Spawned run, whose root is",
    "error": "Failed; retried as",
    "abandoned": "Abandoned; retried as",
    "timeout": "Timed out; retried as",
}


@dataclass
class Argument:
    name: str
    value: SafeString


@dataclass
class ErrorView:
    type: str
    message: str
    frames: list[dict[str, Any]]
    retryable: bool | None


@dataclass
class Link:
    label: str
    href: str
    state: str = ""
    note: str = ""
    step_id: str = ""


@dataclass
class TimingRow:
    label: str
    moment: datetime | None = None
    text: str = ""


@dataclass
class Panel:
    run: Run
    step: Step
    attempts: list[Execution]
    attempt: Execution
    tab: str
    arguments: list[Argument]
    result_kind: str
    value: SafeString | None = None
    error: ErrorView | None = None
    forward: Link | None = None
    final: Link | None = None
    """Where the outcome came from, when the attempt's own result forwarded elsewhere."""
    final_value: SafeString | None = None
    final_error: ErrorView | None = None
    failed_dependencies: list[Link] = field(default_factory=list)
    log_counts: dict[str, int] = field(default_factory=dict)
    timing: list[TimingRow] = field(default_factory=list)
    cache: dict[str, Any] | None = None
    cache_max_age: str = ""
    cache_key: str = ""
    cached_from: Link | None = None
    memo: Any = None
    memo_key: str = ""
    memo_hits: list[Link] = field(default_factory=list)
    requires: dict[str, Any] = field(default_factory=dict)
    run_requires: dict[str, Any] | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    parent: Link | None = None
    children: list[Link] = field(default_factory=list)
    children_total: int = 0
    dependencies: list[Link] = field(default_factory=list)
    dependents: list[Link] = field(default_factory=list)
    assets: list[Link] = field(default_factory=list)
    spawned: list[Link] = field(default_factory=list)
    workspaces: list[Workspace] = field(default_factory=list)
    """The project's live workspaces by name, among them the re-run choices (the page's chrome
    draws them too)."""
    rerun_workspaces: list[Workspace] = field(default_factory=list)
    rerun_default: str = ""

    @property
    def previous(self) -> Execution | None:
        index = self.attempts.index(self.attempt)
        return self.attempts[index - 1] if index > 0 else None

    @property
    def next(self) -> Execution | None:
        index = self.attempts.index(self.attempt)
        return self.attempts[index + 1] if index + 1 < len(self.attempts) else None

    @property
    def cancellable(self) -> bool:
        return self.attempt.state in UNFINISHED

    @property
    def log_count(self) -> int:
        return self.log_counts.get(self.attempt.id, 0)


class StepNotInRun(Exception):
    pass


def load_panel(run: Run, number: int, attempt: int | None, tab: str) -> Panel:
    """The panel of step ``number`` of ``run`` at ``attempt`` (default: the latest)."""
    step = Step.objects.filter(run=run, number=number).select_related("parent").first()
    if step is None:
        raise StepNotInRun(number)
    attempts = list(
        Execution.objects.filter(step=step)
        .select_related("workspace", "result", "result__successor__workspace")
        .order_by("attempt")
    )
    if not attempts:
        raise StepNotInRun(number)
    shown = next((a for a in attempts if a.attempt == attempt), attempts[-1])
    panel = Panel(
        run=run,
        step=step,
        attempts=attempts,
        attempt=shown,
        tab=tab if tab in PANEL_TABS else "overview",
        arguments=[],
        result_kind="",
    )
    panel.log_counts = execution_log_count([a.id for a in attempts])
    _rerun_choices(panel)
    # Each tab loads only what it shows.
    if panel.tab == "overview":
        panel.arguments = _arguments(run, step)
        _outcome(panel)
        _options(panel)
        panel.assets = _assets(shown)
    elif panel.tab == "timing":
        panel.timing = _timing(shown)
    elif panel.tab == "cache":
        _cache_and_memo(panel)
    elif panel.tab == "connections":
        _connections(panel)
    return panel


def _arguments(run: Run, step: Step) -> list[Argument]:
    """The step's arguments, named after the target's registered parameters (workflows are
    registered; a task's are known by position only, since sessions keep no parameters)."""
    parameters = (
        Target.objects.filter(
            module__workspace_id=run.workspace_id, module__name=step.module, name=step.target
        )
        .values_list("parameters", flat=True)
        .first()
    )
    names = [p.get("name") for p in parameters or [] if isinstance(p, dict)]
    arguments = step.arguments if isinstance(step.arguments, list) else []
    return [
        Argument(str(names[i]) if i < len(names) and names[i] else f"#{i}", render_value(value))
        for i, value in enumerate(arguments)
    ]


def _error(result: Result) -> ErrorView:
    frames = result.error_frames if isinstance(result.error_frames, list) else []
    return ErrorView(
        result.error_type,
        result.error_message,
        [f for f in frames if isinstance(f, dict)],
        result.retryable,
    )


def _execution_link(execution_id: str, note: str = "", state: str = "") -> Link:
    step_id = execution_id.rsplit(":", 1)[0]
    return Link(execution_id, links.execution_url(execution_id), state, note, step_id)


def _outcome(panel: Panel) -> None:
    """The attempt's own result, where it forwarded, and the outcome at the end of that."""
    result = getattr(panel.attempt, "result", None) if _has_result(panel.attempt) else None
    if result is None:
        panel.result_kind = "pending"
        return
    panel.result_kind = result.type
    if result.type == Result.Type.VALUE:
        panel.value = render_value(result.value)
    elif result.type == Result.Type.ERROR:
        panel.error = _error(result)
    if result.successor_id:
        label = FORWARD_LABELS.get(result.type, "Forwarded to")
        panel.forward = _execution_link(result.successor_id, label)
        if result.type == Result.Type.SPAWNED:
            spawned_run = result.successor_id.split(":", 1)[0]
            panel.forward = Link(spawned_run, links.run_url(spawned_run), note=label)
        final = final_result(panel.attempt)
        if final is not None and final.execution_id != panel.attempt.id:
            panel.final = _execution_link(final.execution_id, "Outcome from")
            if final.type == Result.Type.VALUE:
                panel.final_value = render_value(final.value)
            elif final.type == Result.Type.ERROR:
                panel.final_error = _error(final)
    if result.type in ("error", "abandoned", "timeout") or panel.final_error is not None:
        panel.failed_dependencies = _failed_dependencies(panel.attempt)


def _has_result(execution: Execution) -> bool:
    try:
        return execution.result is not None
    except Result.DoesNotExist:
        return False


def _failed_dependencies(execution: Execution) -> list[Link]:
    """The steps whose failure this attempt received: what it waited on that ended in error."""
    failed = Dependency.objects.filter(
        execution=execution,
        dependency__result__type__in=["error", "abandoned", "timeout"],
        dependency__result__successor__isnull=True,
    ).values_list("dependency_id", "dependency__result__type")
    return [_execution_link(dependency, kind, kind) for dependency, kind in failed]


def _timing(execution: Execution) -> list[TimingRow]:
    rows = [
        TimingRow("Created", execution.created_at),
        TimingRow("Due", execution.execute_after),
        TimingRow("Assigned", execution.assigned_at),
        TimingRow("Started", execution.started_at),
        TimingRow("Finished", execution.completed_at),
    ]
    ready = max(filter(None, [execution.created_at, execution.execute_after]))
    if execution.assigned_at is not None:
        waited = (execution.assigned_at - ready).total_seconds()
        rows.append(TimingRow("Waited", text=duration(max(waited, 0.0))))
        if execution.completed_at is not None:
            ran = (execution.completed_at - execution.assigned_at).total_seconds()
            rows.append(TimingRow("Ran", text=duration(ran)))
    return rows


def _options(panel: Panel) -> None:
    """What the step was called with besides its arguments: requires and the other options."""
    options = panel.step.options if isinstance(panel.step.options, dict) else {}
    panel.requires = options.get("requires") or {}
    panel.run_requires = panel.run.requires
    shown_options = []
    for key, label in (
        ("retries", "Retries"),
        ("timeout_ms", "Timeout"),
        ("delay_ms", "Delay"),
        ("defer", "Defer"),
        ("wait", "Waits for"),
        ("recurrent", "Recurrent"),
    ):
        if options.get(key) not in (None, False, 0, [], {}):
            shown_options.append((label, _option_text(key, options[key])))
    panel.options = shown_options


def _cache_and_memo(panel: Panel) -> None:
    step, attempt = panel.step, panel.attempt
    options = step.options if isinstance(step.options, dict) else {}
    panel.cache = options.get("cache") or None
    if panel.cache is not None:
        max_age = panel.cache.get("max_age_ms")
        panel.cache_max_age = duration(max_age / 1000) if max_age is not None else "any age"
    panel.cache_key = step.cache_key
    panel.memo = options.get("memo")
    panel.memo_key = step.memo_key
    if _has_result(attempt) and attempt.result.type == Result.Type.CACHED:
        source = attempt.result.successor
        if source is not None:
            where = f"run {source.step_id.split(':', 1)[0]}, workspace {source.workspace.name}"
            panel.cached_from = _execution_link(source.id, where)
    hits = Dependency.objects.filter(dependency__step=step, memo_hit=True).values_list(
        "execution_id", "dependency_id"
    )
    panel.memo_hits = [_execution_link(caller, f"reused {used}") for caller, used in hits]


def _option_text(key: str, value: Any) -> str:
    if key in ("timeout_ms", "delay_ms") and isinstance(value, int | float):
        return duration(value / 1000)
    if key == "retries" and isinstance(value, dict):
        limit = value.get("limit")
        low, high = value.get("backoff_min_ms") or 0, value.get("backoff_max_ms") or 0
        count = "unlimited" if limit is None else f"up to {limit}"
        return f"{count}, backoff {duration(low / 1000)}–{duration(high / 1000)}"
    return short_text({"type": "inline", "format": "json", "data": _plain(value), "refs": []})


def _plain(value: Any) -> Any:
    """Stored options as wire data, for the value renderer's short text."""
    if isinstance(value, dict):
        items: list[Any] = []
        for key, item in value.items():
            items += [key, _plain(item)]
        return {"type": "dict", "items": items}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _connections(panel: Panel) -> None:
    step, attempt = panel.step, panel.attempt
    if step.parent_id:
        panel.parent = _execution_link(step.parent_id, "called by")
    elif panel.run.parent_id:
        caller = panel.run.parent_id
        panel.parent = _execution_link(caller, "spawned this run")
    # The first children, each row with how many there are in all: one query.
    children = list(
        Step.objects.filter(parent_id=attempt.id)
        .order_by("number")
        .only("id", "number", "module", "target")
        .annotate(total=Window(Count("id")))[:CHILDREN_SHOWN]
    )
    panel.children_total = children[0].total if children else 0
    panel.children = [
        Link(
            f"{child.id} {child.module}/{child.target}",
            links.run_url(panel.run.id, step=child.number),
            step_id=child.id,
        )
        for child in children
    ]
    uses = Dependency.objects.filter(execution=attempt).values_list(
        "dependency_id", "dependency__state", "memo_hit"
    )
    panel.dependencies = [
        _execution_link(d, "memo hit" if memo else "", state) for d, state, memo in uses
    ]
    users = Dependency.objects.filter(dependency=attempt).values_list(
        "execution_id", "execution__state", "memo_hit"
    )
    panel.dependents = [
        _execution_link(e, "memo hit" if memo else "", state) for e, state, memo in users
    ]
    spawned = Run.objects.filter(parent=attempt).order_by("created_at").values_list("id", flat=True)
    panel.spawned = [Link(run_id, links.run_url(run_id)) for run_id in spawned]


def _assets(execution: Execution) -> list[Link]:
    """The assets the execution made (a higher app's rows, read through the reverse relation)."""
    assets = Execution.objects.filter(pk=execution.pk, assets__isnull=False).values_list(
        "assets__id", "assets__name"
    )
    return [Link(name or asset_id, links.asset_url(asset_id)) for asset_id, name in assets]


def _rerun_choices(panel: Panel) -> None:
    """The workspaces a re-run may go to: the step's own (its first attempt's) and those based
    on it, at any depth."""
    base = panel.attempts[0].workspace
    panel.workspaces = live_workspaces(panel.run.project_id)
    by_base: dict[int | None, list[Workspace]] = {}
    for workspace in panel.workspaces:
        by_base.setdefault(workspace.base_id, []).append(workspace)
    choices = [base]
    pending = [base.pk]
    while pending:
        for child in by_base.get(pending.pop(0), []):
            if child not in choices:
                choices.append(child)
                pending.append(child.pk)
    panel.rerun_workspaces = choices
    panel.rerun_default = panel.attempt.workspace.name
