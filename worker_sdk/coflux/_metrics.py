"""Metrics: numeric series an execution records, for charts and progress bars.

``Metric(key, group=, scale=, throttle=)`` describes a series; ``record(value, at=)`` adds a
point ``(value, at)`` to it in the running execution. ``at`` is the x-axis: by default the
seconds since the execution started; a series given ``at`` values must give strictly increasing
ones (others are dropped), and a series that mixes the two uses the automatic ``at`` from then
on. Values that are not finite (NaN, infinities) are dropped: JSON cannot carry them.

A ``MetricGroup`` is a chart: series of one group share the x-axis. A ``MetricScale`` is a
y-axis: series of a group naming the same scale share it; an unnamed scale is the series' own.

The description of a series (its *definition*) is sent with its first point in each execution.
Describing a key, group or named scale differently within one execution raises ``ValueError``.

Throttling. A series sends at most ``throttle`` points per second (``None``: every point): the
first point at once, then, per window of ``1 / throttle`` seconds, the last point recorded in
it, when the window ends. A loop recording on every iteration so costs a few points per second
while the chart still ends on the latest value. Points are sent in batches (``[metrics]
batch_size`` and ``flush_interval``; see ``coflux._config``), and the rest when the execution
ends.

Outside an execution recording does nothing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import KW_ONLY, asdict, dataclass
from typing import Any, TypeVar

from ._config import batching_setting
from ._current import current

T = TypeVar("T")

Point = tuple[str, float, float]
"""``(key, value, at)`` as sent."""

MAX_KEY_LENGTH = 200


def _check_bound(value: Any, name: str) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise TypeError(f"{name} must be a finite number or None")


def _check_units(units: Any) -> None:
    if units is not None and not isinstance(units, str):
        raise TypeError("units must be a string or None")


@dataclass(frozen=True)
class MetricGroup:
    """A chart: the series of a group share its x-axis (``units``, ``lower``, ``upper``)."""

    name: str
    _: KW_ONLY
    units: str | None = None
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a metric group needs a name")
        _check_units(self.units)
        _check_bound(self.lower, "lower")
        _check_bound(self.upper, "upper")


@dataclass(frozen=True)
class MetricScale:
    """A y-axis; series of a group naming the same scale share it, an unnamed one is private.

    ``progress=True`` shows the series as progress towards ``upper``.
    """

    name: str | None = None
    _: KW_ONLY
    units: str | None = None
    progress: bool = False
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ValueError("a metric scale's name must be a non-empty string or None")
        _check_units(self.units)
        if not isinstance(self.progress, bool):
            raise TypeError("progress must be True or False")
        _check_bound(self.lower, "lower")
        _check_bound(self.upper, "upper")


class Metric:
    """A series of numbers recorded by executions: ``Metric("loss").record(0.3)``."""

    def __init__(
        self,
        key: str,
        *,
        group: str | MetricGroup | None = None,
        scale: str | MetricScale | None = None,
        throttle: float | None = 10,
    ) -> None:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"a metric key must be a string of 1 to {MAX_KEY_LENGTH} characters")
        if throttle is not None and (
            isinstance(throttle, bool)
            or not isinstance(throttle, int | float)
            or not math.isfinite(throttle)
            or throttle <= 0
        ):
            raise ValueError("throttle must be a positive number of points per second, or None")
        self.key = key
        self.group = MetricGroup(group) if isinstance(group, str) else group
        self.scale = MetricScale(scale) if isinstance(scale, str) else scale
        if self.group is not None and not isinstance(self.group, MetricGroup):
            raise TypeError("group must be a name, a MetricGroup or None")
        if self.scale is not None and not isinstance(self.scale, MetricScale):
            raise TypeError("scale must be a name, a MetricScale or None")
        self.throttle = throttle

    def __repr__(self) -> str:
        return f"Metric({self.key!r}, group={self.group!r}, scale={self.scale!r})"

    def definition(self) -> dict[str, Any]:
        """The series' description as sent: ``{"key", "group", "scale", "throttle"}``."""
        return {
            "key": self.key,
            "group": asdict(self.group) if self.group is not None else None,
            "scale": asdict(self.scale) if self.scale is not None else None,
            "throttle": self.throttle,
        }

    def record(self, value: float, *, at: float | None = None) -> None:
        """Add a point to the series in the running execution (outside one, nothing happens).

        ``at`` defaults to the seconds since the execution started.
        """
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"a metric value must be a number, not {type(value).__name__}")
        if at is not None and (isinstance(at, bool) or not isinstance(at, int | float)):
            raise TypeError(f"'at' must be a number, not {type(at).__name__}")
        context = current()
        if context is not None:
            context.metrics().record(self, value, at)


def progress(
    iterable: Iterable[T], key: str = "progress", *, group: str | MetricGroup | None = None
) -> Iterator[T]:
    """Yield the items of ``iterable``, recording how many have been handled after each one.

    The series' scale is a progress scale up to the number of items; an iterable without a
    length is read into a list first.
    """
    items: Any = iterable if hasattr(iterable, "__len__") else list(iterable)
    metric = Metric(key, group=group, scale=MetricScale(progress=True, upper=len(items)))
    for index, item in enumerate(items):
        yield item
        metric.record(index + 1)


class Throttle:
    """The points of one series to send, at most one per ``period`` seconds.

    ``offer`` takes a point and returns those to send now; ``due`` returns a held point whose
    window has ended. Times are the recorder's clock (seconds).
    """

    def __init__(self, period: float) -> None:
        self.period = period
        self.window_end: float | None = None
        self.pending: Point | None = None

    def offer(self, point: Point, now: float) -> list[Point]:
        released = self.due(now)
        if self.window_end is None or now >= self.window_end:
            # No window open: the point goes at once and opens one.
            released.append(point)
            self.window_end = now + self.period
        else:
            self.pending = point
        return released

    def due(self, now: float) -> list[Point]:
        if self.pending is None or self.window_end is None or now < self.window_end:
            return []
        point, self.pending = self.pending, None
        # Sent at the window's end, the point opens the next window.
        self.window_end += self.period
        return [point]

    def drain(self) -> list[Point]:
        point, self.pending = self.pending, None
        return [point] if point is not None else []


class _Series:
    def __init__(self, metric: Metric) -> None:
        self.definition = metric.definition()
        self.throttle = Throttle(1 / metric.throttle) if metric.throttle is not None else None
        self.mode: str | None = None
        """``"auto"`` or ``"custom"``: where its ``at`` values come from."""
        self.last_at: float | None = None


class MetricRecorder:
    """The metrics of one execution: definitions, throttling, and batches of points.

    Batches go to ``send`` from a background thread, started with the first point, when
    ``batch_size`` points wait or ``flush_interval`` seconds after the first of them waits;
    ``close`` sends the rest, held points included. With ``background=False`` (tests) nothing
    is sent until ``flush`` or ``close`` is called.
    """

    def __init__(
        self,
        execution_id: str,
        send: Callable[[dict[str, Any]], None],
        *,
        started: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        batch_size: int | None = None,
        flush_interval: float | None = None,
        background: bool = True,
    ) -> None:
        self._execution_id = execution_id
        self._send = send
        self._clock = clock
        self._started = clock() if started is None else started
        defaults = batching_setting("metrics")
        self._batch_size = max(1, batch_size or defaults.batch_size)
        self._flush_interval = defaults.flush_interval if flush_interval is None else flush_interval
        self._background = background
        self._changed = threading.Condition()
        self._series: dict[str, _Series] = {}
        self._groups: dict[str, dict[str, Any]] = {}
        self._scales: dict[tuple[str | None, str], dict[str, Any]] = {}
        self._definitions: list[dict[str, Any]] = []
        self._points: list[Point] = []
        self._waiting_since: float | None = None
        self._thread: threading.Thread | None = None
        self._wakeup_at: float | None = None
        """When the background thread wakes up next on its own; ``None``: when notified."""
        self._closed = False

    def record(self, metric: Metric, value: float, at: float | None) -> None:
        with self._changed:
            if self._closed:
                return
            series = self._define(metric)
            now = self._clock()
            at = self._at(series, now, at)
            if at is None or not math.isfinite(value):
                return
            point: Point = (metric.key, value, at)
            released = [point] if series.throttle is None else series.throttle.offer(point, now)
            self._add(released, now)
            if not self._background:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="coflux-metrics", daemon=True
                )
                self._thread.start()
            # Wake the thread only if it must now wake earlier than it planned to: not once
            # per point of a busy loop.
            deadline = self._deadline()
            if deadline is not None and (self._wakeup_at is None or deadline < self._wakeup_at):
                self._changed.notify()

    def flush(self, *, force: bool = False) -> None:
        """Send what is due: every point with ``force``, else full batches and late ones."""
        with self._changed:
            now = self._clock()
            for series in self._series.values():
                if series.throttle is not None:
                    released = series.throttle.drain() if force else series.throttle.due(now)
                    self._add(released, now)
            late = self._waiting_since is not None and (
                now >= self._waiting_since + self._flush_interval
            )
            if not (force or late or len(self._points) >= self._batch_size):
                return
            definitions, self._definitions = self._definitions, []
            points, self._points = self._points, []
            self._waiting_since = None
        for start in range(0, max(len(points), 1), self._batch_size):
            batch = points[start : start + self._batch_size]
            if not batch and not definitions:
                return
            self._send(
                {
                    "type": "metric",
                    "execution": self._execution_id,
                    "definitions": definitions,
                    "points": [list(point) for point in batch],
                }
            )
            definitions = []

    def close(self) -> None:
        """Stop the background thread and send everything left, held points included."""
        with self._changed:
            self._closed = True
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        self.flush(force=True)

    # --- under the lock --------------------------------------------------------------------

    def _define(self, metric: Metric) -> _Series:
        definition = metric.definition()
        series = self._series.get(metric.key)
        if series is not None:
            known = series.definition
            if (known["group"], known["scale"]) != (definition["group"], definition["scale"]):
                raise ValueError(
                    f"metric {metric.key!r} is already defined differently in this execution"
                )
            return series
        group, scale = definition["group"], definition["scale"]
        if group is not None and self._groups.get(group["name"], group) != group:
            raise ValueError(
                f"metric group {group['name']!r} is already defined differently in this execution"
            )
        scale_key = None
        if scale is not None and scale["name"] is not None:
            scale_key = (group["name"] if group is not None else None, scale["name"])
            if self._scales.get(scale_key, scale) != scale:
                raise ValueError(
                    f"metric scale {scale['name']!r} is already defined differently "
                    "in this execution"
                )
        if group is not None:
            self._groups[group["name"]] = group
        if scale_key is not None:
            self._scales[scale_key] = scale
        series = self._series[metric.key] = _Series(metric)
        self._definitions.append(definition)
        return series

    def _at(self, series: _Series, now: float, at: float | None) -> float | None:
        """The point's ``at``, or ``None`` to drop it (a custom one that does not increase)."""
        mode = "auto" if at is None else "custom"
        if series.mode is None:
            series.mode = mode
        elif series.mode != mode:
            series.mode = "auto"
        if series.mode == "auto":
            return now - self._started
        assert at is not None
        if not math.isfinite(at) or (series.last_at is not None and at <= series.last_at):
            return None
        series.last_at = at
        return at

    def _add(self, points: list[Point], now: float) -> None:
        if points:
            if self._waiting_since is None:
                self._waiting_since = now
            self._points.extend(points)

    def _deadline(self) -> float | None:
        """When something will be due to be sent, or ``None`` if nothing waits."""
        deadlines = [
            series.throttle.window_end
            for series in self._series.values()
            if series.throttle is not None
            and series.throttle.pending is not None
            and series.throttle.window_end is not None
        ]
        if self._waiting_since is not None:
            if len(self._points) >= self._batch_size:
                return self._waiting_since
            deadlines.append(self._waiting_since + self._flush_interval)
        return min(deadlines) if deadlines else None

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._closed:
                    return
                self._wakeup_at = self._deadline()
                timeout = None
                if self._wakeup_at is not None:
                    timeout = max(0.0, self._wakeup_at - self._clock())
                if timeout is None or timeout > 0:
                    self._changed.wait(timeout)
                self._wakeup_at = None
                if self._closed:
                    return
            self.flush()
