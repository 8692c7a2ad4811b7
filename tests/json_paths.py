"""Positions in a JSON document, for the fuzz tests that mutate valid messages and bodies."""

from __future__ import annotations

from typing import Any


def places(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a document: keys of objects and indexes of lists, as paths."""
    found = [path] if path else []
    if isinstance(data, dict):
        for key, item in data.items():
            found += places(item, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found += places(item, (*path, index))
    return found


def at(data: Any, path: tuple[Any, ...]) -> Any:
    """What stands at ``path`` in the document."""
    for step in path:
        data = data[step]
    return data
