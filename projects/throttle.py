"""Slowing down guessing: failed logins and failed tokens, counted per client address.

After ``COFLUX_AUTH_FAILURE_LIMIT`` failures within ``COFLUX_AUTH_FAILURE_WINDOW`` seconds, a
client's attempts with credentials (a login, a bearer token) are refused as ``throttled``
(HTTP 429) until the oldest failure leaves the window, whether or not the credentials are
right: otherwise a guesser would still learn which guess was good. Counted in the memory of
each server process, which is enough to make guessing slow.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from django.conf import settings

from projects.errors import Code, DomainError

_failures: dict[str, deque[float]] = {}
_lock = threading.Lock()
_MAX_CLIENTS = 100_000
"""Beyond this many clients tracked, the oldest entries are forgotten."""


def _recent(client: str, now: float) -> deque[float] | None:
    times = _failures.get(client)
    if times is None:
        return None
    window = settings.COFLUX_AUTH_FAILURE_WINDOW
    while times and times[0] <= now - window:
        times.popleft()
    if not times:
        del _failures[client]
        return None
    return times


def check(client: str) -> None:
    """Raise ``throttled`` if ``client`` failed too often lately."""
    if not client:
        return
    now = time.monotonic()
    with _lock:
        times = _recent(client, now)
        if times is None or len(times) < settings.COFLUX_AUTH_FAILURE_LIMIT:
            return
        retry = max(1, round(times[0] + settings.COFLUX_AUTH_FAILURE_WINDOW - now))
    raise DomainError(
        f"Too many failed attempts from this address: try again in {retry} s.",
        code=Code.THROTTLED,
        details={"retryAfter": retry},
    )


def failed(client: str) -> None:
    """Count a failed attempt of ``client``."""
    if not client:
        return
    now = time.monotonic()
    with _lock:
        if len(_failures) >= _MAX_CLIENTS and client not in _failures:
            _failures.pop(next(iter(_failures)))
        times = _recent(client, now) or _failures.setdefault(client, deque())
        times.append(now)
        limit = settings.COFLUX_AUTH_FAILURE_LIMIT
        while len(times) > limit:
            times.popleft()


def forget() -> None:
    """Forget every failure (for tests)."""
    with _lock:
        _failures.clear()
