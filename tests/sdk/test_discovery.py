from __future__ import annotations

import sys

import pytest

from coflux._discovery import (
    DiscoveryError,
    declarations,
    discover,
    discover_isolated,
    workflows_manifest,
)

PACKAGE = {
    "__init__.py": """
        import coflux as cf

        from .jobs.steps import step_impl

        @cf.workflow()
        def top(x: int) -> int:
            \"\"\"The entry point.\"\"\"
            return step_impl(x)
    """,
    "jobs/__init__.py": "",
    "jobs/steps.py": """
        import coflux as cf

        @cf.task(name="step", retries=2)
        def step_impl(x: int) -> int:
            return x + 1

        @cf.stub("elsewhere")
        def remote(x): ...
    """,
    "jobs/_hidden.py": """
        import coflux as cf

        @cf.task()
        def secret(): ...
    """,
    "_private/__init__.py": "raise RuntimeError('never imported')",
    "empty.py": "VALUE = 1",
}


def test_it_walks_packages_and_lists_targets_where_they_are_defined(make_module):
    package = make_module(PACKAGE).__name__

    manifest = discover([package])

    assert list(manifest) == [package, f"{package}.jobs.steps"]
    [top] = manifest[package]
    assert top["name"] == "top" and top["type"] == "workflow"
    assert top["instruction"] == "The entry point."
    assert top["parameters"] == [{"name": "x", "annotation": "int", "default": None}]
    [step] = manifest[f"{package}.jobs.steps"]
    assert step["name"] == "step" and step["type"] == "task"
    assert step["options"]["retries"] == {"limit": 2, "backoff_min_ms": 0, "backoff_max_ms": 0}
    assert f"{package}._private" not in sys.modules
    assert f"{package}.jobs._hidden" not in sys.modules


def test_a_named_module_is_listed_even_without_targets(make_module):
    package = make_module(PACKAGE).__name__
    assert discover([f"{package}.empty"]) == {f"{package}.empty": []}


def test_the_workflows_manifest_has_only_workflows(make_module):
    package = make_module(PACKAGE).__name__

    manifest = workflows_manifest([package])

    assert [t["name"] for t in manifest[package]] == ["top"]
    assert manifest[f"{package}.jobs.steps"] == []


def test_declarations_are_what_hello_carries(make_module):
    package = make_module(PACKAGE).__name__

    declared = declarations(discover([package]))

    assert [(d["module"], d["name"], d["type"]) for d in declared] == [
        (package, "top", "workflow"),
        (f"{package}.jobs.steps", "step", "task"),
    ]
    assert declared[0]["parameters"] == [{"name": "x", "annotation": "int", "default": None}]


def test_isolated_discovery_leaves_this_process_clean(modules_dir):
    (modules_dir / "isolated_flows.py").write_text(
        "import coflux as cf\n\n@cf.workflow()\ndef run(): ...\n"
    )

    manifest = discover_isolated(["isolated_flows"])

    assert [t["name"] for t in manifest["isolated_flows"]] == ["run"]
    assert "isolated_flows" not in sys.modules


def test_isolated_discovery_reports_import_errors(modules_dir):
    (modules_dir / "broken_flows.py").write_text("raise ImportError('missing dependency')\n")

    with pytest.raises(DiscoveryError, match="missing dependency"):
        discover_isolated(["broken_flows"])
