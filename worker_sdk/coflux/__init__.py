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

from ._assets import Asset, AssetEntry, AssetMetadata, asset
from ._errors import (
    ExecutionAbandoned,
    ExecutionCancelled,
    ExecutionError,
    ExecutionTerminated,
    ExecutionTimeout,
    InputDismissed,
)
from ._execution import Execution
from ._flow import cancel, select, suspend, suspense
from ._groups import group
from ._input import Input, ModelSchema
from ._logs import log_debug, log_error, log_info, log_warning
from ._metrics import Metric, MetricGroup, MetricScale, progress
from ._options import Cache, Defer, Retries
from ._prompt import Prompt
from ._targets import stub, task, workflow
from ._version import __version__

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
    "Input",
    "InputDismissed",
    "Metric",
    "MetricGroup",
    "MetricScale",
    "ModelSchema",
    "Prompt",
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

# Public names belong to ``coflux`` itself, not to the private module that defines them: an
# uncaught ``cf.ExecutionTimeout`` is reported as ``coflux.ExecutionTimeout``, a name that stays
# importable however the modules are arranged.
for _name in __all__:
    if not _name.startswith("__"):
        globals()[_name].__module__ = "coflux"
del _name
