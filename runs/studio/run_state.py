"""What a run page shows, all of it in the URL: the tab, the selected step and attempt, the step
panel's tab, the page of the timeline or children, and the logs' filters.

The view parses it from the request, the live socket from the query string the page opened it
with, and every link on the page is built from it with one thing changed, so a link, a reload
and a pushed partial all show the same view.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse

from runs.studio.log_view import LogFilters
from runs.studio.step_panel import PANEL_TABS

TABS = ("graph", "timeline", "logs", "children")


def _number(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 and int(raw) > 0 else None


@dataclass(frozen=True)
class RunState:
    run_id: str
    tab: str = "graph"
    step: int | None = None
    attempt: int | None = None
    panel: str = "overview"
    page: int = 1
    logs: LogFilters = LogFilters()

    @classmethod
    def parse(cls, run_id: str, query: QueryDict) -> RunState:
        tab = query.get("tab", "graph")
        panel = query.get("panel", "overview")
        step = _number(query.get("step"))
        return cls(
            run_id=run_id,
            tab=tab if tab in TABS else "graph",
            step=step,
            attempt=_number(query.get("attempt")) if step is not None else None,
            panel=panel if panel in PANEL_TABS else "overview",
            page=_number(query.get("page")) or 1,
            logs=LogFilters.parse(query, run_id),
        )

    def params(self, **changes: Any) -> dict[str, Any]:
        """The state as query parameters, with ``changes`` (None removes a parameter)."""
        values: dict[str, Any] = {
            "tab": self.tab if self.tab != "graph" else None,
            "step": self.step,
            "attempt": self.attempt,
            "panel": self.panel if self.step is not None and self.panel != "overview" else None,
            "page": self.page if self.page > 1 else None,
            **(self.logs.query() if self.tab == "logs" else {}),
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in (None, "", [])}

    def url(self, **changes: Any) -> str:
        base = reverse("studio:run", args=[self.run_id])
        query = urlencode(self.params(**changes), doseq=True)
        return f"{base}?{query}" if query else base

    @property
    def query_string(self) -> str:
        """The state as a query string, which forms post back to return to this view."""
        return urlencode(self.params(), doseq=True)

    def tab_url(self, tab: str) -> str:
        """Another tab: its own page and filters start afresh; the selection stays."""
        return replace(self, tab=tab, page=1, logs=LogFilters()).url()

    def step_url(self, number: int, attempt: int | None = None) -> str:
        return self.url(step=number, attempt=attempt, page=self.page if self.page > 1 else None)

    def live_params(self) -> dict[str, str]:
        """What the live socket needs to draw the page's partials as the page drew them."""
        return {
            key: ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
            for key, value in self.params().items()
        }

    @classmethod
    def from_live(cls, run_id: str, query: QueryDict) -> RunState:
        """The state a live socket was opened with (levels joined by commas)."""
        copy = query.copy()
        levels = [name for raw in query.getlist("level") for name in raw.split(",") if name]
        copy.setlist("level", levels)
        return cls.parse(run_id, copy)
