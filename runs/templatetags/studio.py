"""Template filters Studio's pages share: durations and ages in short words, run links, and
what inputs need (their URLs, responses as JSON, the count waiting)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone

from runs.inputs import pending_count
from runs.studio import links
from workspaces.models import Workspace

register = template.Library()


@register.filter
def duration(value: timedelta | float | int | None) -> str:
    """``850ms``, ``4.2s``, ``3m 04s``, ``2h 05m``, ``3d 4h``; empty for nothing."""
    if value is None or value == "":
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600}h"


@register.filter
def age(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``value`` was (``3m 04s``), or how long until it (``in 3m 04s``)."""
    if value is None:
        return ""
    delta = (now or timezone.now()) - value
    if delta.total_seconds() < 0:
        return f"in {duration(-delta)}"
    return duration(delta)


@register.filter
def run_url(run_id: str) -> str:
    """The run page of ``run_id``."""
    return links.run_url(run_id)


@register.filter
def execution_url(execution_id: str) -> str:
    """The run page with the execution selected."""
    return links.execution_url(execution_id)


@register.filter
def input_number(input_id: str) -> str:
    """``i3`` of the input ``R…/i3`` (its URLs name the run and the number apart)."""
    return input_id.rpartition("/")[2]


@register.filter
def to_json(value: Any) -> str:
    """Plain JSON as compact text (escaped by the template like any text)."""
    return json.dumps(value, ensure_ascii=False)


@register.simple_tag
def pending_inputs(workspace: Workspace) -> int:
    """How many inputs of the workspace wait for an answer (the chrome's count)."""
    return pending_count(workspace)
