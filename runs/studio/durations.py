"""Lengths of time as Studio shows them."""

from __future__ import annotations


def offset(seconds: float) -> str:
    """An offset from the start as the axis labels it: +0.5s, +2m, +1h30m, +2d."""
    if seconds == 0:
        return "0"
    if seconds < 60:
        return f"+{seconds:g}s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"+{int(minutes)}m" + (f"{rest:g}s" if rest else "")
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"+{int(hours)}h" + (f"{int(rest // 60)}m" if rest else "")
    days, rest = divmod(seconds, 86400)
    return f"+{int(days)}d" + (f"{int(rest // 3600)}h" if rest else "")


def duration(seconds: float) -> str:
    """A length of time for people: 12 ms, 3.4 s, 2 m 5 s, 1 h 2 m."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes} m {rest} s"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60} m"


def elapsed(seconds: float) -> str:
    """Time since a run started, as its log lines show it: +0.012s, +2m05.120s, +1h02m03.000s."""
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"+{seconds:.3f}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"+{int(minutes)}m{seconds:06.3f}s"
    hours, minutes = divmod(minutes, 60)
    return f"+{int(hours)}h{int(minutes):02d}m{seconds:06.3f}s"
