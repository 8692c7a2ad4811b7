"""How ``coflux runs inspect`` draws a run: each step with how it was resolved."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from coflux._cli.render import resolution_text, result_source, run_tree


def execution(execution_id: str, state: str, workspace: str = "dev", **fields: Any) -> dict:
    return {
        "id": execution_id,
        "attempt": int(execution_id.rsplit(":", 1)[1]),
        "state": state,
        "workspace": workspace,
        "result": None,
        "cachedFrom": None,
        "memoHits": [],
        **fields,
    }


def step(number: int, target: str, executions: list[dict], **fields: Any) -> dict:
    return {
        "id": f"Rdev:{number}",
        "number": number,
        "module": "app",
        "target": target,
        "parentId": None if number == 1 else "Rdev:1:2",
        "resolution": "executed",
        "cachedFrom": None,
        "memoHits": [],
        "executions": executions,
        **fields,
    }


SOURCE = {"executionId": "Rprod:3:1", "runId": "Rprod", "workspace": "production"}

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
            parentId="Rdev:1:1",
            resolution="memoised",
            memoHits=["Rdev:1:2"],
        ),
        step(
            3,
            "fetch",
            [execution("Rdev:3:1", "cached", result={"type": "cached"}, cachedFrom=SOURCE)],
            resolution="cached",
            cachedFrom=SOURCE,
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


def test_the_run_says_its_result_comes_from_a_later_attempt_in_another_workspace():
    lines = drawn(SNAPSHOT).splitlines()

    assert lines[0].rstrip().endswith("[result from attempt 2 (Rdev:1:2) in workspace dev]")
    assert "app/pipeline" in lines[1]
    assert lines[2].rstrip().endswith("── attempt 1  succeeded")


def test_a_first_attempt_in_the_runs_own_workspace_needs_no_word():
    first = step(1, "pipeline", [execution("Rdev:1:1", "succeeded", "production")])

    assert result_source({**SNAPSHOT, "steps": [first]}) is None


def test_earlier_attempts_show_their_errors():
    failed = execution(
        "Rdev:1:1",
        "failed",
        "production",
        result={"type": "error", "error": {"type": "builtins.KeyError", "message": "'x'"}},
    )
    retried = step(1, "pipeline", [failed, execution("Rdev:1:2", "succeeded", "production")])

    text = drawn({**SNAPSHOT, "steps": [retried]})

    assert "attempt 1  failed → builtins.KeyError: 'x'" in text
    assert "result from attempt 2 (Rdev:1:2)]" in text
