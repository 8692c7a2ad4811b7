"""A pool's fields: which each launcher type takes, and what values they hold.

Fields arrive as JSON values from the API, or as text from ``coflux pools create --set k=v``;
``coerce`` turns either into the field's kind (``"4"`` → 4 for an integer, ``"a,b"`` → a list,
``"true"`` → True) and refuses what does not fit. ``env.KEY`` names one entry of ``env``.
Secret fields (a Kubernetes token) are stored but never shown: ``public`` masks them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

from projects.errors import Code, DomainError


class Kind(Enum):
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TEXT_LIST = "list of text"
    TEXT_MAP = "map of text"
    JSON = "JSON"


COMMON: dict[str, Kind] = {
    "adapter": Kind.TEXT_LIST,
    "concurrency": Kind.INTEGER,
    "env": Kind.TEXT_MAP,
    "serverHost": Kind.TEXT,
    "serverSecure": Kind.BOOLEAN,
}
"""Fields of every pool: the command starting the worker's CLI, its concurrency, its extra
environment, and the server it connects to (default: this one)."""

BY_TYPE: dict[str, dict[str, Kind]] = {
    "process": {"directory": Kind.TEXT},
    "docker": {"image": Kind.TEXT, "dockerHost": Kind.TEXT, "networkMode": Kind.TEXT},
    "kubernetes": {
        "image": Kind.TEXT,
        "namespace": Kind.TEXT,
        "apiServer": Kind.TEXT,
        "token": Kind.TEXT,
        "caCert": Kind.TEXT,
        "insecure": Kind.BOOLEAN,
        "serviceAccount": Kind.TEXT,
        "imagePullPolicy": Kind.TEXT,
        "imagePullSecrets": Kind.TEXT_LIST,
        "nodeSelector": Kind.TEXT_MAP,
        "labels": Kind.TEXT_MAP,
        "annotations": Kind.TEXT_MAP,
        "resources": Kind.JSON,
        "activeDeadlineSeconds": Kind.INTEGER,
    },
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "process": (),
    "docker": ("image",),
    "kubernetes": ("image",),
}

SECRET = frozenset({"token"})
MASK = "********"

_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class InvalidField(DomainError):
    code = Code.INVALID_REQUEST


def fields_of(pool_type: str) -> dict[str, Kind]:
    return {**COMMON, **BY_TYPE[pool_type]}


def _kind(pool_type: str, name: str) -> Kind:
    kinds = fields_of(pool_type)
    if name not in kinds:
        known = ", ".join(sorted(kinds))
        raise InvalidField(
            f"A {pool_type} pool has no field {name!r} (its fields: {known}).",
            details={"field": name},
        )
    return kinds[name]


def apply_set(pool_type: str, config: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Set fields of ``config`` in place: ``{"image": "x", "env.KEY": "v", "env": {...}}``."""
    for name, raw in values.items():
        if not isinstance(name, str):
            raise InvalidField("Field names are text.")
        if name.startswith("env."):
            key = name.removeprefix("env.")
            config["env"] = {**config.get("env", {}), _env_key(key): _text(raw, name)}
            continue
        config[name] = coerce(_kind(pool_type, name), raw, name)


def apply_unset(pool_type: str, config: dict[str, Any], names: list[str]) -> None:
    for name in names:
        if not isinstance(name, str):
            raise InvalidField("Field names are text.")
        if name.startswith("env."):
            env = dict(config.get("env", {}))
            env.pop(name.removeprefix("env."), None)
            config["env"] = env
            if not env:
                del config["env"]
            continue
        _kind(pool_type, name)
        config.pop(name, None)


def check_complete(pool_type: str, config: Mapping[str, Any]) -> None:
    """Refuse a pool that lacks a field its launcher needs, or holds one of another type."""
    for name in config:
        _kind(pool_type, name)
    missing = [name for name in REQUIRED[pool_type] if config.get(name) in (None, "")]
    if missing:
        raise InvalidField(
            f"A {pool_type} pool needs {missing[0]!r} (--set {missing[0]}=…).",
            details={"field": missing[0]},
        )


def public(config: Mapping[str, Any]) -> dict[str, Any]:
    """The fields as shown: secret ones masked."""
    return {name: MASK if name in SECRET else value for name, value in config.items()}


def coerce(kind: Kind, raw: Any, name: str) -> Any:
    """``raw`` (JSON, or text from ``--set``) as a value of ``kind``."""
    if kind is Kind.TEXT:
        return _text(raw, name)
    if kind is Kind.INTEGER:
        return _integer(raw, name)
    if kind is Kind.BOOLEAN:
        return _boolean(raw, name)
    if kind is Kind.TEXT_LIST:
        return _text_list(raw, name)
    if kind is Kind.TEXT_MAP:
        return _text_map(raw, name)
    return _json(raw)


def _fail(name: str, kind: Kind, raw: Any) -> InvalidField:
    return InvalidField(
        f"Field {name!r} takes {kind.value}, not {json.dumps(raw)[:80]}.", details={"field": name}
    )


def _text(raw: Any, name: str) -> str:
    if not isinstance(raw, str) or "\x00" in raw:
        raise _fail(name, Kind.TEXT, raw)
    return raw


def _integer(raw: Any, name: str) -> int:
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw < 2**31:
        raise _fail(name, Kind.INTEGER, raw)
    return raw


def _boolean(raw: Any, name: str) -> bool:
    if isinstance(raw, str) and raw.lower() in _TRUE + _FALSE:
        return raw.lower() in _TRUE
    if not isinstance(raw, bool):
        raise _fail(name, Kind.BOOLEAN, raw)
    return raw


def _text_list(raw: Any, name: str) -> list[str]:
    if isinstance(raw, str):
        raw = _parsed(raw) if raw.lstrip().startswith("[") else raw.split(",")
        raw = [item.strip() for item in raw] if isinstance(raw, list) else raw
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise _fail(name, Kind.TEXT_LIST, raw)
    return [item for item in raw if item]


def _text_map(raw: Any, name: str) -> dict[str, str]:
    if isinstance(raw, str):
        raw = _parsed(raw)
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise _fail(name, Kind.TEXT_MAP, raw)
    if name == "env":
        return {_env_key(key): value for key, value in raw.items()}
    return dict(raw)


def _json(raw: Any) -> Any:
    return _parsed(raw) if isinstance(raw, str) else raw


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidField(f"Not valid JSON: {text[:80]!r}.") from None


def _env_key(key: str) -> str:
    if not _ENV_KEY.fullmatch(key):
        raise InvalidField(
            f"{key!r} is not an environment variable name.", details={"field": f"env.{key}"}
        )
    return key
