"""Fixtures for the SDK's tests: importable throwaway modules. Nothing here needs a server."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

MakeModule = Callable[..., ModuleType]


@pytest.fixture
def modules_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on ``sys.path``; modules imported from it are forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in set(sys.modules) - before:
            del sys.modules[name]


@pytest.fixture
def make_module(modules_dir: Path) -> MakeModule:
    """Write ``files`` (relative path → source) under a fresh package name and import it.

    The package name is unique per call, so targets never clash in the SDK's registry; write
    ``PKG`` in a source to refer to it. Returns the imported top-level module.
    """

    def make(files: dict[str, str]) -> ModuleType:
        package = f"sdk_{uuid.uuid4().hex[:8]}"
        for relative, source in {"__init__.py": "", **files}.items():
            path = modules_dir / package / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source).replace("PKG", package))
        importlib.invalidate_caches()
        return importlib.import_module(package)

    return make
