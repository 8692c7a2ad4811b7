"""The runs list of the workspace overview and the workflow page: filters, a page, its rows.

Every filter is a URL parameter (``status``, ``workflow`` as ``module/target``, ``from`` and
``to`` as dates, ``page``), so a filtered list is a link. A page costs a fixed number of
queries: the runs, their root steps and those steps' executions with results.

A run's status is that of its root step's latest attempt, following where it forwards (a cache
hit or a deferred call takes the outcome of the execution it points at). Filtering by status
does that in SQL for one forward, which covers a cache hit whose source ran; the status shown
follows forwards to the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from runs.models import Execution, Result, Run, Step
from runs.snapshots import final_result, run_status
from runs.states import State
from workspaces.models import Workspace

PAGE_SIZE = 50
STATUSES = ("queued", "running", "succeeded", "failed", "timeout", "abandoned", "cancelled")
_STATES_OF_STATUS: dict[str, list[str]] = {
    "queued": [State.QUEUED],
    # Ended without an outcome of its own and nothing further yet: still running.
    "running": [State.ASSIGNED, State.SUSPENDED, State.RECURRED, State.SPAWNED],
    "succeeded": [State.SUCCEEDED],
    "failed": [State.FAILED],
    "timeout": [State.TIMED_OUT],
    "abandoned": [State.ABANDONED],
    "cancelled": [State.CANCELLED],
}
_FORWARDING = [State.CACHED, State.DEFERRED]


@dataclass(frozen=True)
class RunFilters:
    status: str = ""
    workflow: str = ""
    """``module/target``; the module may not contain ``/``, the target may not either."""
    since: date | None = None
    until: date | None = None
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str], *, workflow: str = "") -> RunFilters:
        """The filters from a query string; values that make no sense are ignored."""
        status = params.get("status", "")
        chosen = workflow or params.get("workflow", "")
        return cls(
            status=status if status in STATUSES else "",
            workflow=chosen if chosen.count("/") == 1 else "",
            since=_date(params.get("from", "")),
            until=_date(params.get("to", "")),
            page=_page(params.get("page", "")),
        )

    def query(self, **changes: object) -> str:
        """The query string of these filters with ``changes`` (``page=2``; ``None`` drops)."""
        values: dict[str, object] = {
            "status": self.status,
            "workflow": self.workflow,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            "page": self.page if self.page > 1 else "",
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})

    @property
    def active(self) -> bool:
        return bool(self.status or self.since or self.until)


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _page(raw: str) -> int:
    return max(int(raw), 1) if raw.isdigit() and len(raw) < 7 else 1


@dataclass
class RunRow:
    id: str
    module: str | None
    target: str | None
    status: str
    created_at: datetime
    duration: timedelta | None
    finished: bool
    parent_run: str | None
    """The run whose execution spawned this one, if any."""
    submitted_by: str
    """The Studio user who submitted it; empty for the API (and for spawned runs)."""


@dataclass
class RunPage:
    rows: list[RunRow]
    filters: RunFilters
    has_next: bool
    workflows: list[str] = field(default_factory=list)

    @property
    def has_previous(self) -> bool:
        return self.filters.page > 1

    @property
    def next_query(self) -> str:
        return self.filters.query(page=self.filters.page + 1)

    @property
    def previous_query(self) -> str:
        return self.filters.query(page=self.filters.page - 1)


def _filtered(workspace: Workspace, filters: RunFilters) -> QuerySet[Run]:
    runs = Run.objects.filter(workspace=workspace)
    if filters.workflow:
        module, target = filters.workflow.split("/")
        roots = Step.objects.filter(number=1, module=module, target=target)
        runs = runs.filter(pk__in=roots.values("run_id"))
    zone = timezone.get_current_timezone()
    if filters.since:
        runs = runs.filter(created_at__gte=datetime.combine(filters.since, time.min, zone))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time.min, zone)
        runs = runs.filter(created_at__lt=end)
    if filters.status:
        latest = Execution.objects.filter(step__run=OuterRef("pk"), step__number=1).order_by(
            "-attempt"
        )
        runs = runs.annotate(
            root_id=Subquery(latest.values("pk")[:1]),
            root_state=Subquery(latest.values("state")[:1]),
        ).annotate(
            next_state=Subquery(
                Result.objects.filter(execution=OuterRef("root_id")).values("successor__state")[:1]
            ),
        )
        runs = runs.annotate(
            shown_state=Case(
                When(root_state__in=_FORWARDING, then=F("next_state")),
                default=F("root_state"),
            )
        ).filter(Q(shown_state__in=_STATES_OF_STATUS[filters.status]))
    return runs


def run_page(workspace: Workspace, filters: RunFilters) -> RunPage:
    """One page of the workspace's runs, newest first, as the filters select them."""
    offset = (filters.page - 1) * PAGE_SIZE
    runs = list(
        _filtered(workspace, filters)
        .with_root()
        .order_by("-created_at", "-id")[offset : offset + PAGE_SIZE + 1]
    )
    now = timezone.now()
    rows = [_row(run, now) for run in runs[:PAGE_SIZE]]
    return RunPage(rows=rows, filters=filters, has_next=len(runs) > PAGE_SIZE)


def _row(run: Run, now: datetime) -> RunRow:
    root = run.root_steps[0] if run.root_steps else None
    executions = list(root.executions.all()) if root is not None else []
    latest = max(executions, key=lambda e: e.attempt) if executions else None
    status = run_status(latest)
    finished = status not in ("queued", "running")
    end: datetime | None = None
    if finished and latest is not None:
        result = final_result(latest)
        end = result.created_at if result is not None else latest.completed_at
    return RunRow(
        id=run.id,
        module=root.module if root else None,
        target=root.target if root else None,
        status=status,
        created_at=run.created_at,
        duration=(end or now) - run.created_at,
        finished=finished,
        parent_run=run.parent_id.split(":", 1)[0] if run.parent_id else None,
        submitted_by=run.created_by,
    )
