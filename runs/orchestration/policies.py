"""Decisions about one execution that need no database: retries, recurrence, routing."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

Tags = Mapping[str, list[str]]


def retry_delay_ms(
    retries: Any, failures_before: int, rng: random.Random | None = None
) -> int | None:
    """How long to wait before retrying a failed attempt, or ``None`` not to retry.

    ``failures_before`` counts the step's consecutive failed attempts before this one. With a
    limit, attempt n+1 is retried iff n < limit, after min + n/max(limit-1, 1)·(max-min); without
    one, after a uniformly random delay in [min, max] (SPEC §3.5).
    """
    if not isinstance(retries, Mapping):
        return None
    low = int(retries.get("backoff_min_ms") or 0)
    high = max(low, int(retries.get("backoff_max_ms") or 0))
    limit = retries.get("limit")
    if limit is None:
        return round((rng or random).uniform(low, high))
    if failures_before >= limit:
        return None
    return round(low + failures_before / max(limit - 1, 1) * (high - low))


def is_retryable(result: Mapping[str, Any]) -> bool:
    """Errors are retryable unless the worker's ``when`` said otherwise."""
    if result.get("type") != "error":
        return True
    error = result.get("error")
    return not (isinstance(error, Mapping) and error.get("retryable") is False)


def recurs(options: Mapping[str, Any], result: Mapping[str, Any]) -> bool:
    """A recurrent target runs again when an attempt returns ``None``."""
    if not options.get("recurrent") or result.get("type") != "value":
        return False
    value = result.get("value")
    return isinstance(value, Mapping) and value.get("data") is None and not value.get("refs")


def run_requires(own: Tags | None, root_options: Mapping[str, Any] | None) -> Tags:
    """A run's requires: its own (a submission's override, even empty), else its workflow's."""
    if own is not None:
        return own
    return (root_options or {}).get("requires") or {}


def step_requires(
    run_requires: Tags | None, step_options: Mapping[str, Any], root: bool
) -> dict[str, list]:
    """The requires an execution of a step must meet: its run's, overlaid by a call's own (a
    root step's own requires are already its run's)."""
    return effective_requires(run_requires, None if root else step_options.get("requires"))


MAX_DELAY = timedelta(days=365 * 100)
"""The longest anything is put off; later is treated as this (a datetime cannot go past 9999)."""


def due_at(now: datetime, delay_ms: Any) -> datetime | None:
    """When something delayed by ``delay_ms`` falls due; ``None`` (at once) for no delay."""
    if not isinstance(delay_ms, int | float) or isinstance(delay_ms, bool) or not delay_ms > 0:
        return None
    return now + timedelta(milliseconds=min(delay_ms, MAX_DELAY / timedelta(milliseconds=1)))


def due_at_epoch_ms(now: datetime, epoch_ms: Any) -> datetime | None:
    """When something due at ``epoch_ms`` (milliseconds since 1970) falls due; ``None`` for
    none or a time already past."""
    if not isinstance(epoch_ms, int | float) or isinstance(epoch_ms, bool):
        return None
    return due_at(now, epoch_ms - now.timestamp() * 1000)


def effective_requires(run_requires: Tags | None, step_requires: Tags | None) -> dict[str, list]:
    """Run requires overlaid per key by the step's; keys left empty are dropped."""
    merged = {**(run_requires or {}), **(step_requires or {})}
    return {key: list(values) for key, values in merged.items() if values}


def can_run(
    targets: set[tuple[str, str, str]],
    provides: Tags,
    accepts: Tags,
    target: tuple[str, str, str],
    requires: Tags,
) -> bool:
    """Whether a worker hosting ``targets`` (module, name, type), with these tags, may take an
    execution of ``target`` with these requires."""
    return target in targets and session_fits(provides, accepts, requires)


def session_fits(provides: Tags, accepts: Tags, requires: Tags) -> bool:
    """Whether a worker with these tags may run work with these requires (SPEC §3.14).

    Every required key needs a matching value among what the worker provides or accepts, and a
    worker that accepts a key only takes work that requires one of the accepted values.
    """
    for key, wanted in requires.items():
        offered = set(provides.get(key, ())) | set(accepts.get(key, ()))
        if offered.isdisjoint(wanted):
            return False
    for key, accepted in accepts.items():
        if set(requires.get(key, ())).isdisjoint(accepted):
            return False
    return True
