"""``log_debug`` … ``log_error``: structured log entries of the running execution.

A template names values in braces (``"loaded {count} rows"``); the values travel in the value
format, and any extra values are shown alongside. Outside an execution these do nothing.
"""

from __future__ import annotations

from typing import Any

from .capture import DEBUG, ERROR, INFO, WARNING
from .context import current


def _log(level: int, template: str | None, values: dict[str, Any]) -> None:
    context = current()
    if context is not None:
        context.log(level, template, values)


def log_debug(template: str | None = None, **values: Any) -> None:
    _log(DEBUG, template, values)


def log_info(template: str | None = None, **values: Any) -> None:
    _log(INFO, template, values)


def log_warning(template: str | None = None, **values: Any) -> None:
    _log(WARNING, template, values)


def log_error(template: str | None = None, **values: Any) -> None:
    _log(ERROR, template, values)
