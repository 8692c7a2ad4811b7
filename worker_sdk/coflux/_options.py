"""Target options: the user-facing ``Cache``/``Defer``/``Retries`` and their normalisation.

Every option a decorator accepts is turned into plain JSON here, so the definition a worker
declares (and each ``submit`` carries) can be stored and compared by the server without any
Python on its side. Parameters are referred to by index, so renaming one keeps cache and memo
keys stable; durations travel as whole milliseconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

Seconds: TypeAlias = int | float | dt.timedelta
ParamNames: TypeAlias = str | Iterable[str]
RetryWhen: TypeAlias = (
    type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
)


@dataclass(frozen=True)
class Cache:
    """Reuse a previous successful result with the same key (see SPEC §3.3)."""

    max_age: Seconds | None = None
    params: ParamNames | None = field(default=None, kw_only=True)
    namespace: str | None = field(default=None, kw_only=True)
    version: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Defer:
    """Collapse queued calls with the same key into the newest one (see SPEC §3.6)."""

    params: ParamNames | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Retries:
    """Retry failed attempts; ``limit=None`` retries without limit.

    ``when`` decides, in the executing process, whether an error may be retried: an exception
    class, a tuple of them, or a callable taking the exception.
    """

    limit: int | None = None
    backoff: Seconds | tuple[Seconds, Seconds] = field(default=(1, 60), kw_only=True)
    when: RetryWhen | None = field(default=None, kw_only=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_milliseconds(value: Any, option: str) -> int:
    """Seconds (int/float) or a timedelta as whole milliseconds; negatives are refused."""
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif _is_number(value):
        seconds = float(value)
    else:
        raise TypeError(f"{option} must be a number of seconds or a timedelta, not {value!r}")
    if seconds < 0:
        raise ValueError(f"{option} must not be negative")
    return round(seconds * 1000)


def param_indexes(spec: ParamNames | None, names: Sequence[str], option: str) -> list[int]:
    """Resolve parameter names (an iterable or a comma-separated string) to indexes.

    ``None`` selects every parameter. Order is kept as given, since it orders the key parts.
    """
    if spec is None:
        return list(range(len(names)))
    if isinstance(spec, str):
        items = [item.strip() for item in spec.split(",") if item.strip()]
    else:
        items = list(spec)
    indexes: list[int] = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{option}: parameter names must be strings, not {item!r}")
        if item not in names:
            raise ValueError(f"{option}: unknown parameter {item!r}")
        index = names.index(item)
        if index not in indexes:
            indexes.append(index)
    return indexes


def normalize_wait(value: bool | ParamNames, names: Sequence[str]) -> list[int] | None:
    if value is False or value is None:
        return None
    if value is True:
        return list(range(len(names)))
    return param_indexes(value, names, "wait")


def normalize_cache(value: Any, names: Sequence[str]) -> dict[str, Any] | None:
    if value is None or value is False:
        return None
    if value is True:
        value = Cache()
    elif _is_number(value) or isinstance(value, dt.timedelta):
        if to_milliseconds(value, "cache") == 0:
            return None
        value = Cache(max_age=value)
    if not isinstance(value, Cache):
        raise TypeError(f"cache must be a bool, seconds, a timedelta or cf.Cache, not {value!r}")
    for attribute in ("namespace", "version"):
        if not isinstance(getattr(value, attribute), (str, type(None))):
            raise TypeError(f"Cache.{attribute} must be a string")
    max_age = None if value.max_age is None else to_milliseconds(value.max_age, "Cache.max_age")
    return {
        "params": param_indexes(value.params, names, "Cache.params"),
        "max_age_ms": max_age,
        "namespace": value.namespace,
        "version": value.version,
    }


def _backoff_ms(backoff: Any) -> tuple[int, int]:
    if isinstance(backoff, tuple):
        if len(backoff) != 2:
            raise ValueError("Retries.backoff must be (min, max)")
        low = to_milliseconds(backoff[0], "Retries.backoff")
        high = to_milliseconds(backoff[1], "Retries.backoff")
    else:
        low = high = to_milliseconds(backoff, "Retries.backoff")
    if low > high:
        raise ValueError("Retries.backoff: min must not exceed max")
    return low, high


def _check_when(when: Any) -> None:
    if when is None or isinstance(when, type) and issubclass(when, BaseException):
        return
    if isinstance(when, tuple):
        if all(isinstance(w, type) and issubclass(w, BaseException) for w in when):
            return
        raise TypeError("Retries.when: a tuple must hold exception classes")
    if not callable(when):
        raise TypeError("Retries.when must be an exception class, a tuple of them or a callable")


def resolve_retries(value: Any) -> Retries | None:
    """The ``Retries`` a ``retries=`` argument stands for, or ``None`` for no retries."""
    if value is None or value is False:
        return None
    if value is True:
        return Retries()
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("retries must not be negative")
        return Retries(limit=value, backoff=(0, 0)) if value else None
    if not isinstance(value, Retries):
        raise TypeError(f"retries must be a bool, an int or cf.Retries, not {value!r}")
    if value.limit is not None:
        if not isinstance(value.limit, int) or isinstance(value.limit, bool) or value.limit < 0:
            raise ValueError("Retries.limit must be a non-negative int or None")
        if value.limit == 0:
            return None
    _backoff_ms(value.backoff)
    _check_when(value.when)
    return value


def normalize_retries(retries: Retries | None) -> dict[str, Any] | None:
    if retries is None:
        return None
    low, high = _backoff_ms(retries.backoff)
    return {"limit": retries.limit, "backoff_min_ms": low, "backoff_max_ms": high}


def normalize_defer(value: Any, names: Sequence[str]) -> dict[str, Any] | None:
    if value is None or value is False:
        return None
    if value is True:
        value = Defer()
    if not isinstance(value, Defer):
        raise TypeError(f"defer must be a bool or cf.Defer, not {value!r}")
    return {"params": param_indexes(value.params, names, "Defer.params")}


def normalize_memo(
    value: Any, names: Sequence[str], *, names_allowed: bool
) -> bool | list[int] | None:
    """``None`` means "not specified", so a run-wide workflow default can still apply."""
    if value is None or isinstance(value, bool):
        return value
    if not names_allowed:
        raise TypeError("memo must be a bool for workflows")
    return param_indexes(value, names, "memo")


def normalize_requires(value: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    """``{key: str | bool | list[str]}`` as ``{key: [str]}``; an empty list unsets the key."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError("requires must be a mapping")
    result: dict[str, list[str]] = {}
    for key, spec in value.items():
        if not isinstance(key, str):
            raise TypeError(f"requires: keys must be strings, not {key!r}")
        if isinstance(spec, bool):
            result[key] = ["true" if spec else "false"]
        elif isinstance(spec, str):
            result[key] = [spec]
        elif isinstance(spec, (list, tuple)) and all(isinstance(s, str) for s in spec):
            result[key] = list(spec)
        else:
            raise TypeError(f"requires[{key!r}] must be a string, a bool or a list of strings")
    return result


def normalize_flag(value: Any, option: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{option} must be a bool")
    return value


def normalize_duration(value: Any, option: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{option} must be a number of seconds or a timedelta")
    return to_milliseconds(value, option)
