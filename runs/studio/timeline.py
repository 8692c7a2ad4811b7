"""The run timeline: a row per step, a bar per attempt, on one time axis from the run's start.

Each attempt is a grey bar while it was queued or delayed (created until assigned, or until it
ended without running) and a bar in the colour of its state while it ran (assigned until
completed). Unfinished bars reach ``now``, so re-rendering makes them grow. An attempt too short
to see (a cache hit, a deferred call) is a dot. Rows are paged; the axis spans the whole run,
so pages line up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from runs.studio.durations import duration, offset
from runs.studio.outline import Attempt, Outline, StepOutline

PAGE_SIZE = 100
LABEL_WIDTH = 280
CHART_WIDTH = 720
ROW_HEIGHT = 24
BAR_HEIGHT = 12
AXIS_HEIGHT = 28
DOT_RADIUS = 4
MIN_BAR = 2.0
"""Bars narrower than this many pixels are drawn as dots."""

_STEPS = [
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
]
"""Tick intervals in seconds, from which the axis takes the first giving at most 8 ticks."""


@dataclass
class Bar:
    kind: str
    """``queued``, ``running`` or ``dot``."""
    state: str
    x: float
    width: float
    title: str
    attempt: int


@dataclass
class Row:
    step: StepOutline
    href: str
    y: int
    selected: bool
    bars: list[Bar] = field(default_factory=list)

    @property
    def bar_y(self) -> int:
        return self.y + (ROW_HEIGHT - BAR_HEIGHT) // 2

    @property
    def middle_y(self) -> int:
        return self.y + ROW_HEIGHT // 2


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class Timeline:
    rows: list[Row]
    ticks: list[Tick]
    page: int
    pages: int
    total: int
    width: int = LABEL_WIDTH + CHART_WIDTH + 16
    height: int = 0
    chart_x: int = LABEL_WIDTH
    axis_y: int = AXIS_HEIGHT


def build_timeline(
    outline: Outline,
    *,
    page: int,
    now: datetime,
    step_url: Callable[[int, int | None], str],
    selected_step: int | None = None,
) -> Timeline:
    """Page ``page`` (from 1) of the run's timeline."""
    start = outline.run.created_at
    end = _end(outline, now)
    span = max((end - start).total_seconds(), 0.001)
    scale = CHART_WIDTH / span
    total = len(outline.steps)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = outline.steps[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    rows: list[Row] = []
    for index, step in enumerate(shown):
        latest = step.latest
        row = Row(
            step=step,
            href=step_url(step.number, latest.attempt if latest else None),
            y=AXIS_HEIGHT + index * ROW_HEIGHT,
            selected=step.number == selected_step,
        )
        for attempt in step.attempts:
            row.bars.extend(_bars(attempt, start, now, scale))
        rows.append(row)
    return Timeline(
        rows=rows,
        ticks=_ticks(span, scale),
        page=page,
        pages=pages,
        total=total,
        height=AXIS_HEIGHT + len(rows) * ROW_HEIGHT + 8,
    )


def _end(outline: Outline, now: datetime) -> datetime:
    """When the axis ends: now while anything is unfinished, else the last moment recorded."""
    end = outline.run.created_at
    for attempt in outline.executions.values():
        if not attempt.finished:
            return max(now, end)
        for moment in (attempt.completed_at, attempt.assigned_at, attempt.created_at):
            if moment is not None and moment > end:
                end = moment
    return end


def _bars(attempt: Attempt, start: datetime, now: datetime, scale: float) -> list[Bar]:
    def x(moment: datetime) -> float:
        return round(max((moment - start).total_seconds(), 0.0) * scale, 1)

    ended = attempt.completed_at or now
    queued_until = attempt.assigned_at or ended
    bars: list[Bar] = []
    title = f"#{attempt.attempt} {attempt.state}"
    waited = (queued_until - attempt.created_at).total_seconds()
    queued_width = x(queued_until) - x(attempt.created_at)
    if queued_width >= MIN_BAR:
        bars.append(
            Bar(
                "queued",
                "queued",
                x(attempt.created_at),
                queued_width,
                f"{title}: queued {duration(waited)}",
                attempt.attempt,
            )
        )
    if attempt.assigned_at is not None:
        ran = (ended - attempt.assigned_at).total_seconds()
        width = x(ended) - x(attempt.assigned_at)
        label = f"{title}: ran {duration(ran)}"
        if width >= MIN_BAR:
            bars.append(
                Bar("running", attempt.state, x(attempt.assigned_at), width, label, attempt.attempt)
            )
        else:
            at = x(attempt.assigned_at)
            bars.append(Bar("dot", attempt.state, at, 0, label, attempt.attempt))
    elif queued_width < MIN_BAR or attempt.finished:
        # Ended without running (cached, deferred, cancelled while queued): a dot where it ended.
        bars.append(Bar("dot", attempt.state, x(queued_until), 0, title, attempt.attempt))
    return bars


def _ticks(span: float, scale: float) -> list[Tick]:
    interval = next((step for step in _STEPS if span / step <= 8), _STEPS[-1])
    count = int(span // interval)
    return [Tick(round(i * interval * scale, 1), offset(i * interval)) for i in range(count + 1)]
