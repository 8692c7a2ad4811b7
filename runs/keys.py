"""Keys that identify "the same call": for caching, memoisation and deferral (SPEC §3.3–3.6).

A key is the SHA-256 of zero-byte-joined parts: a namespace, a version, then one part per
selected parameter (by index, so renaming a parameter keeps its keys). A value part is ``1`` and
the canonical JSON of an inline value's data (``2`` and the blob key for a blob), followed by
the number of references in it and each reference. Arguments travel in the wire format, so the
server computes keys without decoding anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _reference(ref: Any) -> bytes:
    if not isinstance(ref, dict):
        return _canonical(ref)
    kind = ref.get("type")
    if kind == "execution":
        return b"e" + str(ref.get("id")).encode()
    if kind == "asset":
        return b"a" + str(ref.get("id")).encode()
    if kind == "input":
        return b"i" + str(ref.get("id")).encode()
    return b"f" + _canonical(
        [ref.get("format"), ref.get("key") or ref.get("blob_key"), ref.get("metadata")]
    )


def value_parts(value: Any) -> list[bytes]:
    """The key parts of one argument in the wire format (``b"0"`` for a missing one)."""
    if not isinstance(value, dict):
        return [b"0"]
    if value.get("type") == "blob":
        head = b"2" + str(value.get("key")).encode()
    else:
        head = b"1" + _canonical(value.get("data"))
    refs = value.get("refs") or []
    return [head, str(len(refs)).encode(), *(_reference(ref) for ref in refs)]


def step_key(namespace: str, version: str, arguments: Sequence[Any], indexes: Sequence[int]) -> str:
    parts = [namespace.encode(), version.encode()]
    for index in indexes:
        value = arguments[index] if 0 <= index < len(arguments) else None
        parts.extend(value_parts(value))
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def selected(spec: Any, count: int) -> list[int] | None:
    """Parameter indexes an option selects: ``True`` all, a list those, anything else none."""
    if spec is True:
        return list(range(count))
    if isinstance(spec, list) and all(isinstance(i, int) for i in spec):
        return spec
    return None


def memo_key(module: str, target: str, arguments: Sequence[Any], memo: Any) -> str:
    """The memo key of a call, or ``""`` if the call is not memoised."""
    indexes = selected(memo, len(arguments))
    if indexes is None:
        return ""
    return step_key(f"{module}:{target}", "", arguments, indexes)


def defer_key(module: str, target: str, arguments: Sequence[Any], defer: Any) -> str:
    """The defer key of a call, or ``""`` if the call is not deferred."""
    if not isinstance(defer, dict):
        return ""
    indexes = defer.get("params")
    if not isinstance(indexes, list):
        indexes = list(range(len(arguments)))
    return step_key(f"{module}:{target}", "", arguments, indexes)


def execution_refs(values: Sequence[Any]) -> list[str]:
    """IDs of executions referred to inside wire values, in order, without repeats."""
    found: list[str] = []
    for value in values:
        if not isinstance(value, dict):
            continue
        for ref in value.get("refs") or []:
            if isinstance(ref, dict) and ref.get("type") == "execution":
                ident = ref.get("id")
                if isinstance(ident, str) and ident not in found:
                    found.append(ident)
    return found


def cache_key(module: str, target: str, arguments: Sequence[Any], cache: Any) -> str:
    """The cache key of a call, or ``""`` if the call is not cached (SPEC §3.3)."""
    if not isinstance(cache, dict):
        return ""
    indexes = cache.get("params")
    if not isinstance(indexes, list):
        indexes = list(range(len(arguments)))
    namespace = cache.get("namespace") or f"{module}:{target}"
    return step_key(namespace, cache.get("version") or "", arguments, indexes)
