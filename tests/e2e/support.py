"""Reading what end-to-end tests get back: run results and the executions of a run snapshot."""

from __future__ import annotations

from typing import Any


def value_of(result: dict[str, Any]) -> Any:
    """The value of a succeeded run's result (``GET runs/<run>/result``), as plain JSON."""
    assert result["status"] == "succeeded", result
    return result["result"]["value"]["data"]


def executions(run: dict[str, Any], target: str) -> list[dict[str, Any]]:
    """The executions of every step of ``target`` in a run snapshot, step by step."""
    return [e for step in run["steps"] if step["target"] == target for e in step["executions"]]


def states(run: dict[str, Any], target: str) -> list[str]:
    return [execution["state"] for execution in executions(run, target)]


def attempts(run: dict[str, Any], target: str) -> list[tuple[int, str]]:
    return [(execution["attempt"], execution["state"]) for execution in executions(run, target)]
