"""``log_debug`` … ``log_error``: structured log entries of the running execution.

A template names values in braces (``"loaded {count} rows"``); the values travel separately in
the value format (``coflux._serialization``), and when an entry is shown each ``{name}`` is
replaced by its value and the values the template does not name are shown alongside
(``render``). Outside an execution these do nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ._capture import DEBUG, ERROR, INFO, STDERR, STDOUT, WARNING
from ._current import current

LEVELS = {
    DEBUG: "debug",
    STDOUT: "stdout",
    INFO: "info",
    STDERR: "stderr",
    WARNING: "warning",
    ERROR: "error",
}
"""The name of each level, as shown."""
MAX_SHOWN = 1000
"""Characters of one value shown at most."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _log(level: int, template: str | None, values: dict[str, Any]) -> None:
    context = current()
    if context is not None:
        if template is not None and not isinstance(template, str):
            template = str(template)
        context.log(level, template, values)


def log_debug(template: str | None = None, **values: Any) -> None:
    _log(DEBUG, template, values)


def log_info(template: str | None = None, **values: Any) -> None:
    _log(INFO, template, values)


def log_warning(template: str | None = None, **values: Any) -> None:
    _log(WARNING, template, values)


def log_error(template: str | None = None, **values: Any) -> None:
    _log(ERROR, template, values)


# --- showing entries -------------------------------------------------------------------------


def render(template: str, values: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The template with each ``{name}`` replaced by its value, and the other values shown.

    ``values`` are in the value format, as stored. A placeholder without a value stays as it
    is. Returns ``(text, {name: shown value})`` for the values the template does not name.
    """
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            return match[0]
        used.add(name)
        return show(values[name], top=True)

    text = _PLACEHOLDER.sub(substitute, template)
    extras = {name: show(value) for name, value in values.items() if name not in used}
    return text, extras


def show(value: Any, *, top: bool = False) -> str:
    """A value in the value format as short, Python-like text, without fetching anything.

    Strings are quoted except at the ``top`` (placed in a template); values kept in the blob
    store and pickled or other opaque values are shown by their kind and type.
    """
    if not isinstance(value, dict):
        return "<value>"
    if value.get("type") == "blob":
        size = value.get("size")
        return f"<blob, {size} bytes>" if isinstance(size, int) else "<blob>"
    if value.get("type") != "inline":
        return "<value>"
    data = value.get("data")
    if top and isinstance(data, str):
        return _truncate(data)
    refs = value.get("refs")
    return _truncate(_show(data, refs if isinstance(refs, list) else []))


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _show(data: Any, refs: list[Any]) -> str:
    if data is None or isinstance(data, bool | int | float | str):
        return repr(data)
    if isinstance(data, list):
        return "[" + ", ".join(_show(item, refs) for item in data) + "]"
    if not isinstance(data, dict):
        return "<value>"
    kind = data.get("type")
    items = data.get("items")
    if kind == "dict" and isinstance(items, list):
        pairs = zip(items[::2], items[1::2], strict=False)
        return "{" + ", ".join(f"{_show(k, refs)}: {_show(v, refs)}" for k, v in pairs) + "}"
    if kind in ("tuple", "set", "frozenset") and isinstance(items, list):
        shown = ", ".join(_show(item, refs) for item in items)
        if kind == "tuple":
            return f"({shown},)" if len(items) == 1 else f"({shown})"
        if kind == "set":
            return "{" + shown + "}" if items else "set()"
        return f"frozenset({{{shown}}})" if items else "frozenset()"
    if kind == "ref":
        index = data.get("index")
        ref = refs[index] if isinstance(index, int) and 0 <= index < len(refs) else None
        return _show_ref(ref)
    if kind == "bytes":
        return _show_bytes(data.get("value"))
    if kind == "duration":
        return f"{data.get('value')}s"
    if kind in ("datetime", "date", "time", "decimal", "uuid", "float"):
        return str(data.get("value"))
    return f"<{kind}>" if isinstance(kind, str) else "<value>"


def _show_bytes(encoded: Any) -> str:
    try:
        size = len(base64.b64decode(encoded, validate=True))
    except (TypeError, ValueError, binascii.Error):
        return "<bytes>"
    return f"<{size} bytes>"


def _show_ref(ref: Any) -> str:
    if not isinstance(ref, dict):
        return "<ref>"
    kind = ref.get("type")
    if isinstance(ref.get("id"), str):
        return f"<{kind} {ref['id']}>"
    if ref.get("format") == "bytes" and isinstance(ref.get("size"), int):
        return f"<{ref['size']} bytes>"
    metadata = ref.get("metadata")
    if isinstance(metadata, dict):
        for name in ("type", "model"):
            if isinstance(metadata.get(name), str):
                return f"<{metadata[name]}>"
    shown = ref.get("format") or kind
    return f"<{shown}>" if isinstance(shown, str) else "<ref>"
