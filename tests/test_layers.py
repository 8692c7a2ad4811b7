"""The server's apps are layered: projects < workspaces < runs < assets. A lower app never
imports a higher one (type-only imports aside), and none of them imports the wiring in
``coflux_server`` beyond its API plumbing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.processes import ROOT

LAYERS = ["projects", "workspaces", "runs", "assets"]
PLUMBING = {
    "coflux_server.api_async",
    "coflux_server.api_errors",
    "coflux_server.api_fields",
    "coflux_server.api_input",
    "coflux_server.api_schema",
    "coflux_server.database",
}
"""What apps may use of ``coflux_server``: how the API parses input, declares its shapes,
reports errors and reads the database while it waits."""


def imports_of(path: Path) -> set[str]:
    """Modules a file imports at run time (not under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text())
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def sources(app: str) -> list[Path]:
    return [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_no_app_above_it(app):
    above = LAYERS[LAYERS.index(app) + 1 :]
    wrong = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sources(app)
        for module in imports_of(path)
        if module.split(".")[0] in above
    )
    assert wrong == []


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_uses_only_the_api_plumbing_of_the_server_package(app):
    wrong = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sources(app)
        for module in imports_of(path)
        if module.startswith("coflux_server.")
        and not any(module == p or module.startswith(p + ".") for p in PLUMBING)
    )
    assert wrong == []
