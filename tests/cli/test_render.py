"""How ``coflux runs inspect`` draws a run: each step with how it was resolved."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from coflux._cli.render import resolution_text, run_tree


def execution(execution_id: str, state: str, workspace: str = "dev", **fields: Any) -> dict:
    return {
        "id": execution_id,
        "attempt": int(execution_id.rsplit(":", 1)[1]),
        "state": state,
        "workspace": workspace,
        "result": None,
        "cached_from": None,
        "memo_hits": [],
        **fields,
    }


def step(number: int, target: str, executions: list[dict], **fields: Any) -> dict:
    return {
        "id": f"Rdev:{number}",
        "number": number,
        "module": "app",
        "target": target,
        "parent": None if number == 1 else "Rdev:1:2",
        "resolution": "executed",
        "cached_from": None,
        "memo_hits": [],
        "executions": executions,
        **fields,
    }


SOURCE = {"execution": "Rprod:3:1", "run": "Rprod", "workspace": "production"}

SNAPSHOT = {
    "id": "Rdev",
    "status": "succeeded",
    "workspace": "production",
    "steps": [
        step(
            1,
            "pipeline",
            [execution("Rdev:1:1", "succeeded", "production"), execution("Rdev:1:2", "succeeded")],
        ),
        step(
            2,
            "extract",
            [execution("Rdev:2:1", "succeeded", "production")],
            parent="Rdev:1:1",
            resolution="memoised",
            memo_hits=["Rdev:1:2"],
        ),
        step(
            3,
            "fetch",
            [execution("Rdev:3:1", "cached", result={"type": "cached"}, cached_from=SOURCE)],
            resolution="cached",
            cached_from=SOURCE,
        ),
    ],
}


def drawn(snapshot: dict) -> str:
    console = Console(width=300, record=True, file=io.StringIO())
    console.print(run_tree(snapshot))
    return console.export_text()


def test_it_says_where_a_cached_step_came_from():
    assert resolution_text(SNAPSHOT["steps"][2]) == (
        "cached from Rprod:3:1 (run Rprod, workspace production)"
    )


def test_it_says_which_calls_reused_a_memoised_step():
    assert resolution_text(SNAPSHOT["steps"][1]) == (
        "executed, memoised: reused by 1 call (Rdev:1:2)"
    )


def test_it_says_a_step_was_executed_or_not_yet_resolved():
    assert resolution_text(SNAPSHOT["steps"][0]) == "executed"
    assert resolution_text({**SNAPSHOT["steps"][0], "resolution": None}) is None


def test_the_tree_shows_each_steps_resolution_and_foreign_workspaces():
    lines = drawn(SNAPSHOT).splitlines()

    [root] = [line for line in lines if "app/pipeline" in line]
    [extract] = [line for line in lines if "app/extract" in line]
    [fetch] = [line for line in lines if "app/fetch" in line]
    assert "succeeded (attempt 2) in dev  [executed]" in root
    assert "[executed, memoised: reused by 1 call (Rdev:1:2)]" in extract
    assert "cached in dev  [cached from Rprod:3:1 (run Rprod, workspace production)]" in fetch
