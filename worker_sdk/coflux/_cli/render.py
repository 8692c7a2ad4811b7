"""Showing runs and their results: trees of steps, values as plain JSON, errors; and the times
and tags of tables."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text
from rich.tree import Tree

from .._client import UNFINISHED, Client
from .._serialization import deserialize, to_json

POLL_INTERVAL = 0.2
PREVIEW_LENGTH = 60

STATUS_STYLES = {
    "queued": "dim",
    "assigned": "yellow",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "timed_out": "red",
    "timeout": "red",
    "abandoned": "magenta",
    "cancelled": "magenta",
    "cached": "cyan",
}


def local_time(iso: str | None, layout: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A time from the server in the local time zone, or nothing for none."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone().strftime(layout)


def tag_text(tags: dict[str, list[str]]) -> str:
    """``gpu:A100,gpu:H100,fast:true``, as tags are given on the command line."""
    return ",".join(f"{key}:{value}" for key, values in tags.items() for value in values)


def plain_value(value: dict[str, Any]) -> Any:
    """A wire value as plain JSON (lossy where JSON has no equivalent)."""
    return to_json(deserialize(value))


def outcome_json(status: str, result: dict[str, Any] | None) -> dict[str, Any]:
    """``{"status", "value"}``, ``{"status", "error": {"type", "message"}}`` or ``{"status"}``."""
    outcome: dict[str, Any] = {"status": status}
    if result is not None and result["type"] == "value":
        outcome["value"] = plain_value(result["value"])
    elif result is not None and result["type"] == "error":
        error = result["error"]
        outcome["error"] = {"type": error["type"], "message": error["message"]}
    return outcome


def outcome_text(status: str, result: dict[str, Any] | None) -> str:
    """The value as JSON, the error as a traceback, or else the status."""
    if result is not None and result["type"] == "value":
        return json.dumps(plain_value(result["value"]), indent=2)
    if result is not None and result["type"] == "error":
        error = result["error"]
        lines = ["Traceback (most recent call last):"] if error.get("frames") else []
        for frame in error.get("frames") or []:
            lines.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["name"]}')
            if frame.get("code"):
                lines.append(f"    {frame['code']}")
        lines.append(f"{error['type']}: {error['message']}" if error["message"] else error["type"])
        return "\n".join(lines)
    return status


def _preview(result: dict[str, Any] | None) -> Text:
    if result is None:
        return Text()
    if result["type"] == "value":
        try:
            shown = json.dumps(plain_value(result["value"]))
        except (ValueError, TypeError, KeyError):
            shown = "<value>"
        if len(shown) > PREVIEW_LENGTH:
            shown = shown[: PREVIEW_LENGTH - 1] + "…"
        return Text(f" → {shown}", style="green")
    if result["type"] == "error":
        error = result["error"]
        return Text(f" → {error['type']}: {error['message']}", style="red")
    return Text()


def resolution_text(step: dict[str, Any]) -> str | None:
    """How the step was resolved: executed, cached (from which run and workspace) or memoised."""
    resolution = step.get("resolution")
    if resolution == "cached" and step.get("cachedFrom"):
        source = step["cachedFrom"]
        return (
            f"cached from {source['executionId']} "
            f"(run {source['runId']}, workspace {source['workspace']})"
        )
    if resolution == "memoised":
        hits = step.get("memoHits") or []
        calls = "call" if len(hits) == 1 else "calls"
        return f"executed, memoised: reused by {len(hits)} {calls} ({', '.join(hits)})"
    return resolution


def result_source(snapshot: dict[str, Any]) -> str | None:
    """Where the run's result comes from, when that is not simply its first attempt in its own
    workspace: the run's result is always its root step's latest attempt, wherever it ran (a
    re-run in another workspace changes it)."""
    root = next((step for step in snapshot["steps"] if step["number"] == 1), None)
    if root is None or not root["executions"]:
        return None
    latest = root["executions"][-1]
    elsewhere = latest["workspace"] != snapshot["workspace"]
    if latest["attempt"] == 1 and not elsewhere:
        return None
    where = f" in workspace {latest['workspace']}" if elsewhere else ""
    return f"result from attempt {latest['attempt']} ({latest['id']}){where}"


def _earlier_attempt(execution: dict[str, Any], workspace: str) -> Text:
    """An attempt before the latest, with its own outcome (an error is kept, not hidden)."""
    label = Text(f"attempt {execution['attempt']}  ", style="dim")
    label.append(execution["state"], style=STATUS_STYLES.get(execution["state"], ""))
    if execution.get("workspace") and execution["workspace"] != workspace:
        label.append(f" in {execution['workspace']}", style="dim")
    label.append_text(_preview(execution["result"]))
    return label


def _step_label(step: dict[str, Any], workspace: str) -> Text:
    label = Text()
    label.append(f"{step['module']}/{step['target']}", style="bold" if step["number"] == 1 else "")
    label.append(f"  {step['id']}", style="dim")
    executions = step["executions"]
    if not executions:
        return label
    latest = executions[-1]
    label.append("  ")
    label.append(latest["state"], style=STATUS_STYLES.get(latest["state"], ""))
    if latest["attempt"] > 1:
        label.append(f" (attempt {latest['attempt']})", style="dim")
    if latest.get("workspace") and latest["workspace"] != workspace:
        label.append(f" in {latest['workspace']}", style="dim")
    label.append_text(_preview(latest["result"]))
    resolved = resolution_text(step)
    if resolved:
        label.append(f"  [{resolved}]", style="cyan" if resolved != "executed" else "dim")
    return label


def run_tree(snapshot: dict[str, Any]) -> Tree:
    """The run's steps as a tree: each step under the step whose execution called it."""
    step_of_execution = {
        execution["id"]: step["id"]
        for step in snapshot["steps"]
        for execution in step["executions"]
    }
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for step in snapshot["steps"]:
        parent = step_of_execution.get(step["parentId"]) if step["parentId"] else None
        children[parent].append(step)

    title = Text(f"Run {snapshot['id']}", style="bold")
    title.append("  ")
    title.append(snapshot["status"], style=STATUS_STYLES.get(snapshot["status"], ""))
    title.append(f"  workspace {snapshot['workspace']}", style="dim")
    source = result_source(snapshot)
    if source:
        title.append(f"  [{source}]", style="cyan")
    tree = Tree(title)

    def add(node: Tree, parent: str | None) -> None:
        for step in children.get(parent, []):
            step_node = node.add(_step_label(step, snapshot["workspace"]))
            for earlier in step["executions"][:-1]:
                step_node.add(_earlier_attempt(earlier, snapshot["workspace"]))
            add(step_node, step["id"])

    add(tree, None)
    return tree


def follow_live(client: Client, run_id: str, console: Console) -> dict[str, Any]:
    """Redraw the run's tree as it changes until the run ends; the final snapshot."""
    snapshot = client.run(run_id)
    with Live(run_tree(snapshot), console=console, refresh_per_second=10) as live:
        while snapshot["status"] in UNFINISHED:
            time.sleep(POLL_INTERVAL)
            snapshot = client.run(run_id)
            live.update(run_tree(snapshot))
    return snapshot
