"""Template filters Studio's pages share: durations and ages in short words, and run links."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from runs.studio import links

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
