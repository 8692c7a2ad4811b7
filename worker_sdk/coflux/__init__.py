"""Coflux: durable workflows in plain Python.

::

    import coflux as cf

    @cf.task(retries=3)
    def fetch(url: str) -> str: ...

    @cf.workflow()
    def crawl(urls: list[str]) -> list[str]:
        return [page.result() for page in [fetch.submit(url) for url in urls]]
"""

from __future__ import annotations

from .assets import Asset, AssetEntry, AssetMetadata, asset
from .errors import (
    ExecutionAbandoned,
    ExecutionCancelled,
    ExecutionError,
    ExecutionTerminated,
    ExecutionTimeout,
)
from .execution import Execution
from .flow import cancel, select, suspend, suspense
from .groups import group
from .logs import log_debug, log_error, log_info, log_warning
from .metrics import Metric, MetricGroup, MetricScale, progress
from .options import Cache, Defer, Retries
from .targets import stub, task, workflow
from .version import __version__

__all__ = [
    "Asset",
    "AssetEntry",
    "AssetMetadata",
    "Cache",
    "Defer",
    "Execution",
    "ExecutionAbandoned",
    "ExecutionCancelled",
    "ExecutionError",
    "ExecutionTerminated",
    "ExecutionTimeout",
    "Metric",
    "MetricGroup",
    "MetricScale",
    "Retries",
    "__version__",
    "asset",
    "cancel",
    "group",
    "log_debug",
    "log_error",
    "log_info",
    "log_warning",
    "progress",
    "select",
    "stub",
    "suspend",
    "suspense",
    "task",
    "workflow",
]
