"""Helpers for the SDK's tests that run code in executor processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


def importable_module(
    tmp_path_factory: pytest.TempPathFactory, name: str, source: str
) -> Iterator[str]:
    """Body of a module-scoped fixture: write ``source`` as module ``name`` and put it on
    ``sys.path`` for the module's tests; executor processes import it by that name."""
    directory = tmp_path_factory.mktemp("flows")
    (directory / f"{name}.py").write_text(source)
    sys.path.insert(0, str(directory))
    yield name
    sys.path.remove(str(directory))
