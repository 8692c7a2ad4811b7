"""The run's log as Studio shows it: pages of lines, filters, following, downloads.

A line shows the time since the run started, its level, the execution (a link to its step),
its template with each ``{name}`` replaced by that value drawn by the value renderer, and the
values the template does not name as chips. Lines are read in arrival order, a page at a time:
after a cursor (the last line's ID) going forward, before one going back, or, when following,
the latest page, which the live socket draws again as lines arrive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import QueryDict
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from runs.logs import log_entry
from runs.models import LogMessage, Run
from runs.studio.durations import elapsed
from runs.studio.values_view import plain_text, render_value

PAGE_SIZE = 200
MAX_QUERY = 200
LEVELS = {0: "debug", 1: "stdout", 2: "info", 3: "stderr", 4: "warning", 5: "error"}
LEVEL_NUMBERS = {name: number for number, name in LEVELS.items()}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EXECUTION = re.compile(r"^[A-Za-z0-9]+:[1-9][0-9]{0,8}:[1-9][0-9]{0,8}$")

StepUrl = Callable[[int, int | None], str]


@dataclass(frozen=True)
class LogFilters:
    """What part of the log to show; parsed from the page's query string."""

    execution: str = ""
    levels: frozenset[int] = frozenset()
    text: str = ""
    after: int | None = None
    before: int | None = None
    follow: bool = False

    @classmethod
    def parse(cls, query: QueryDict, run_id: str) -> LogFilters:
        execution = query.get("execution", "")
        if not _EXECUTION.match(execution) or not execution.startswith(f"{run_id}:"):
            execution = ""
        levels = frozenset(
            LEVEL_NUMBERS[name] for name in query.getlist("level") if name in LEVEL_NUMBERS
        )
        return cls(
            execution=execution,
            levels=levels,
            text=query.get("q", "").strip()[:MAX_QUERY],
            after=_cursor(query.get("after")),
            before=_cursor(query.get("before")),
            follow=query.get("follow") == "1",
        )

    def query(self, **changes: Any) -> dict[str, Any]:
        """The filters as query parameters (for links), with ``changes`` applied."""
        values: dict[str, Any] = {
            "execution": self.execution or None,
            "level": sorted(LEVELS[n] for n in self.levels) or None,
            "q": self.text or None,
            "after": self.after,
            "before": self.before,
            "follow": "1" if self.follow else None,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in (None, "", [])}

    @property
    def level_names(self) -> list[str]:
        return [LEVELS[n] for n in sorted(self.levels)]


def _cursor(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


@dataclass
class LogLine:
    id: int
    execution: str
    step_label: str
    href: str
    level: int
    level_name: str
    offset: str
    text: SafeString
    extras: list[tuple[str, SafeString]] = field(default_factory=list)

    @property
    def step_id(self) -> str:
        return self.execution.rsplit(":", 1)[0]


@dataclass
class LogPage:
    lines: list[LogLine]
    total: int
    first: int | None
    last: int | None
    has_older: bool
    has_newer: bool


def _lines(run: Run, filters: LogFilters) -> QuerySet[LogMessage]:
    lines = LogMessage.objects.filter(execution__step__run=run)
    if filters.execution:
        lines = lines.filter(execution_id=filters.execution)
    if filters.levels:
        lines = lines.filter(level__in=filters.levels)
    if filters.text:
        lines = lines.annotate(values_text=Cast("values", TextField())).filter(
            Q(template__icontains=filters.text) | Q(values_text__icontains=filters.text)
        )
    return lines


def log_page(run: Run, filters: LogFilters, step_url: StepUrl) -> LogPage:
    """One page of the lines ``filters`` select, in three queries."""
    lines = _lines(run, filters)
    total = lines.count()
    if filters.follow or filters.before is not None:
        newest = lines.filter(id__lt=filters.before) if filters.before is not None else lines
        page = list(newest.order_by("-id")[: PAGE_SIZE + 1])
        older = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE][::-1]
        newer = filters.before is not None and lines.filter(id__gte=filters.before).exists()
    else:
        oldest = lines.filter(id__gt=filters.after) if filters.after is not None else lines
        page = list(oldest.order_by("id")[: PAGE_SIZE + 1])
        newer = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE]
        older = filters.after is not None and lines.filter(id__lte=filters.after).exists()
    return LogPage(
        lines=[_line(run, line, step_url) for line in page],
        total=total,
        first=page[0].id if page else None,
        last=page[-1].id if page else None,
        has_older=older,
        has_newer=newer,
    )


def execution_log_count(execution_ids: list[str]) -> dict[str, int]:
    """How many lines each execution logged."""
    counts: dict[str, int] = dict.fromkeys(execution_ids, 0)
    rows = (
        LogMessage.objects.filter(execution_id__in=execution_ids)
        .values("execution_id")
        .annotate(n=Count("id"))
        .values_list("execution_id", "n")
        .order_by()
    )
    counts.update(rows)
    return counts


def _line(run: Run, line: LogMessage, step_url: StepUrl) -> LogLine:
    _run, _, label = line.execution_id.partition(":")
    step, _, attempt = label.partition(":")
    text, extras = render_line(line.template, line.values if isinstance(line.values, dict) else {})
    return LogLine(
        id=line.id,
        execution=line.execution_id,
        step_label=label,
        href=step_url(int(step), int(attempt)),
        level=line.level,
        level_name=LEVELS.get(line.level, str(line.level)),
        offset=elapsed((line.timestamp - run.created_at).total_seconds()),
        text=text,
        extras=extras,
    )


def render_line(
    template: str | None, values: dict[str, Any]
) -> tuple[SafeString, list[tuple[str, SafeString]]]:
    """The template as HTML with its placeholders drawn as values, and the other values."""
    template = template or ""
    used: set[str] = set()
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        name = match[1]
        if name not in values:
            continue
        used.add(name)
        parts.append(escape(template[position : match.start()]))
        parts.append(f'<span class="log-value">{render_value(values[name], compact=True)}</span>')
        position = match.end()
    parts.append(escape(template[position:]))
    extras = [
        (name, render_value(value, compact=True))
        for name, value in values.items()
        if name not in used
    ]
    return mark_safe("".join(parts)), extras


def text_lines(run: Run, filters: LogFilters) -> Iterator[str]:
    """Every selected line as text, as ``coflux logs`` prints it, for a download."""
    for line in _lines(run, filters).order_by("id").iterator(chunk_size=2000):
        values = line.values if isinstance(line.values, dict) else {}
        text, named = _fill(line.template or "", values)
        extras = " ".join(
            f"{name}={plain_text(value)}" for name, value in values.items() if name not in named
        )
        offset = elapsed((line.timestamp - run.created_at).total_seconds())
        level = LEVELS.get(line.level, str(line.level))
        label = line.execution_id.partition(":")[2]
        shown = f"{offset:>10} {level:<7} {label:<5} {text}"
        yield (f"{shown} {extras}" if extras else shown) + "\n"


def _fill(template: str, values: dict[str, Any]) -> tuple[str, set[str]]:
    """The template with its placeholders replaced by the values as text, and the names used."""
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        if match[1] not in values:
            return match[0]
        used.add(match[1])
        return plain_text(values[match[1]])

    return _PLACEHOLDER.sub(substitute, template), used


def json_lines(run: Run, filters: LogFilters) -> Iterator[str]:
    """Every selected line as a JSON object per line, values in the wire format."""
    for line in _lines(run, filters).order_by("id").iterator(chunk_size=2000):
        yield json.dumps(log_entry(line), ensure_ascii=False) + "\n"
