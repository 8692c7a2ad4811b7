"""The SDK's modules import each other in one direction only, and each imports on its own.

Imports under ``if TYPE_CHECKING:`` are for annotations and never run, so they do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import coflux

PACKAGE = Path(coflux.__file__).parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """The import statements that run, each with whether it is inside a function."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield from _imports(other, in_function)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function
        inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(child, inside)


def _imported(module: str, node: ast.AST) -> set[str]:
    """The SDK's modules an import statement of ``module`` names."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in MODULES}
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    found = set()
    for alias in node.names:
        if f"{base}.{alias.name}" in MODULES:
            found.add(f"{base}.{alias.name}")
        elif base in MODULES:
            found.add(base)
    return found - {module}


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Each module's imports of the SDK's modules, and the imports made inside functions."""
    graph: dict[str, set[str]] = {}
    deferred = []
    for module, path in MODULES.items():
        graph[module] = set()
        for node, in_function in _imports(ast.parse(path.read_text())):
            imported = _imported(module, node)
            graph[module] |= imported
            if in_function and imported:
                deferred.append(f"{module}:{node.lineno} imports {', '.join(sorted(imported))}")
    return graph, deferred


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_graph_is_read_correctly():
    graph, _ = import_graph()
    assert "coflux._current" in graph["coflux._execution"]
    assert "coflux._blobs" in graph["coflux._serialization"]
    assert "coflux._cli" in graph["coflux.cli"]
    assert "coflux._context" not in graph["coflux._current"]  # under TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_modules_import_each_other_without_cycles():
    graph, _ = import_graph()
    assert cycles(graph) == []


def test_no_module_imports_another_inside_a_function():
    # Such an import is how a cycle hides; optional dependencies (pandas, boto3) are not the
    # SDK's modules and may stay lazy.
    _, deferred = import_graph()
    assert deferred == []


FRESH_IMPORTS = """
import asyncio, importlib, multiprocessing, os, sys, traceback
import click, coflux_wire.protocol, httpx, rich.console, websockets.asyncio.client

failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
            django = any(module.split(".")[0] == "django" for module in sys.modules)
            assert not django, "imports Django"
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        failed.append(name)
print(" ".join(failed))
"""


def test_each_module_imports_in_a_fresh_interpreter():
    # Forked from an interpreter that has imported none of the SDK (only its dependencies, to
    # be quick), so each module is the first of the SDK to be imported in its process.
    output = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORTS, *MODULES],
        capture_output=True,
        text=True,
        check=True,
    )
    assert output.stdout.split() == [], output.stderr
