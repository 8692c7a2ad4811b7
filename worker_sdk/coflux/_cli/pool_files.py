"""Pools as a TOML file, as ``coflux pools export`` writes it and ``import`` reads it::

    [pools.local]
    type = "process"
    state = "active"
    modules = ["app.flows"]
    provides = { gpu = ["A100"] }
    accepts = {}

    [pools.local.fields]
    directory = "/srv/app"
    env = { MODE = "production" }

Python reads TOML (``tomllib``) but does not write it; this writes the few shapes a pool holds:
text, numbers, booleans, lists and tables of them.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class PoolFileError(Exception):
    pass


def dumps(pools: dict[str, dict[str, Any]]) -> str:
    """The pools (name → ``{type, state, modules, provides, accepts, fields}``) as TOML."""
    sections = []
    for name, pool in pools.items():
        lines = [f"[pools.{_key(name)}]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in pool.items() if k != "fields"]
        lines.append("")
        lines.append(f"[pools.{_key(name)}.fields]")
        lines += [f"{_key(k)} = {_value(v)}" for k, v in (pool.get("fields") or {}).items()]
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


def loads(text: str) -> dict[str, Any]:
    """The pools of a file; refused when it is not TOML or holds something else."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PoolFileError(f"not a valid pools file: {exc}") from None
    unknown = set(document) - {"pools"}
    if unknown:
        raise PoolFileError(f"unknown table {sorted(unknown)[0]!r}: pools go under [pools.NAME]")
    pools = document.get("pools", {})
    if not all(isinstance(pool, dict) for pool in pools.values()):
        raise PoolFileError("each pool is a table: [pools.NAME]")
    return pools


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    # JSON's escapes are TOML's; TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise PoolFileError(f"TOML cannot hold {value!r}")
