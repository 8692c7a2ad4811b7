"""Caching, memoisation and workspaces end to end (SPEC §1, §3.3, §3.4, §3.12): real workers in
a tree of workspaces, executions counted through marks in the test's directory."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tests.e2e.flows.marks import count, mark
from tests.e2e.support import value_of
from tests.processes import ROOT, cli, cli_env, cli_json, wait_until

pytestmark = pytest.mark.e2e

CACHING = "tests.e2e.flows.caching"
WORKER_MODULES = (CACHING,)
# fib(20) holds a slot for every level of its recursion while it waits on the next one.
WORKER_CONCURRENCY = 32


def unique(name: str) -> str:
    """A workspace name of the test's own: the tests of this module share one server."""
    return f"{name}-{uuid.uuid4().hex[:6]}"


def create_workspace(server, name: str, base: str | None = None) -> str:
    body = {"name": name, **({"base": base} if base else {})}
    response = server.api("POST", "/workspaces", json=body)
    assert response.status_code == 201, response.text
    return name


def run(server, target, *arguments, workspace="default"):
    """Run ``target`` to the end; its run ID and value."""
    run_id = server.submit(CACHING, target, *arguments, workspace=workspace)
    return run_id, value_of(server.result(run_id, wait=60))


def steps(snapshot, target):
    return [step for step in snapshot["steps"] if step["target"] == target]


def resolutions(snapshot, target):
    return [step["resolution"] for step in steps(snapshot, target)]


def inspect_text(server, run_id: str) -> str:
    """``coflux runs inspect RUN`` as text, wide enough that no step's line wraps."""
    process = subprocess.run(
        [sys.executable, "-m", "coflux", "runs", "inspect", run_id],
        cwd=ROOT,
        env={**cli_env(server), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    return process.stdout


def line_of(text: str, target: str) -> str:
    [line] = [line for line in text.splitlines() if f"/{target} " in line]
    return line


# --- cache ----------------------------------------------------------------------------------


def test_fib_with_a_cache_executes_each_n_once(server, worker, tmp_path):
    run_id, value = run(server, "fibonacci", str(tmp_path), 20)

    assert value == 6765
    assert [count(tmp_path, f"fib{n}") for n in range(21)] == [1] * 21
    snapshot = server.run(run_id)
    fibs = steps(snapshot, "fib")
    executed = [s for s in fibs if s["resolution"] == "executed"]
    cached = [s for s in fibs if s["resolution"] == "cached"]
    assert (len(executed), len(cached)) == (21, len(fibs) - 21)
    assert all(s["executions"][0]["state"] == "cached" for s in cached)
    sources = {s["cachedFrom"]["executionId"] for s in cached}
    assert sources <= {e["id"] for s in executed for e in s["executions"]}
    assert {s["cachedFrom"]["runId"] for s in cached} == {run_id}
    assert all(s["cacheKey"] for s in fibs)


def test_a_result_older_than_max_age_is_not_reused(server, worker, tmp_path):
    assert run(server, "call_expiring", str(tmp_path))[1] == 1
    assert run(server, "call_expiring", str(tmp_path))[1] == 1
    time.sleep(3.5)

    assert run(server, "call_expiring", str(tmp_path))[1] == 2
    assert run(server, "call_expiring", str(tmp_path))[1] == 2
    assert count(tmp_path, "expiring") == 2


def test_params_leave_other_arguments_out_of_the_key(server, worker, tmp_path):
    assert run(server, "call_ignoring_note", str(tmp_path), 1, "first")[1] == "1:first"
    assert run(server, "call_ignoring_note", str(tmp_path), 1, "second")[1] == "1:first"
    assert run(server, "call_ignoring_note", str(tmp_path), 2, "second")[1] == "2:second"
    assert count(tmp_path, "ignoring_note") == 2


def test_a_new_version_misses_the_cache(server, worker, tmp_path):
    assert run(server, "call_versioned", str(tmp_path), "1")[1] == 1
    assert run(server, "call_versioned", str(tmp_path), "1")[1] == 1
    assert run(server, "call_versioned", str(tmp_path), "2")[1] == 2
    assert run(server, "call_versioned", str(tmp_path), "1")[1] == 1
    assert count(tmp_path, "versioned") == 2


def test_targets_sharing_a_namespace_share_the_cache(server, worker, tmp_path):
    run_id, value = run(server, "call_lookups", str(tmp_path), "k")

    assert value == ["a:k", "a:k"]
    assert (count(tmp_path, "lookup_a"), count(tmp_path, "lookup_b")) == (1, 0)
    [a] = steps(server.run(run_id), "lookup_a")
    [b] = steps(server.run(run_id), "lookup_b")
    assert b["cachedFrom"]["executionId"] == a["executions"][0]["id"]
    assert run(server, "call_lookups", str(tmp_path), "j")[1] == ["a:j", "a:j"]


# --- workspace hierarchies ------------------------------------------------------------------


def test_development_hits_productions_cache_but_not_the_reverse(server, start_worker, tmp_path):
    production = create_workspace(server, unique("production"))
    development = create_workspace(server, unique("development"), base=production)
    start_worker(server, CACHING, workspace=production)
    start_worker(server, CACHING, workspace=development)

    prod_run, prod_value = run(server, "compute", str(tmp_path), ["x"], workspace=production)
    dev_run, dev_value = run(server, "compute", str(tmp_path), ["x", "y"], workspace=development)
    again, again_value = run(server, "compute", str(tmp_path), ["y"], workspace=production)

    assert (prod_value, dev_value, again_value) == (["x#1"], ["x#1", "y#1"], ["y#2"])
    assert (count(tmp_path, "expensive-x"), count(tmp_path, "expensive-y")) == (1, 2)
    dev_snapshot = server.run(dev_run)
    assert resolutions(dev_snapshot, "expensive") == ["cached", "executed"]
    [x, y] = steps(dev_snapshot, "expensive")
    [source] = steps(server.run(prod_run), "expensive")
    assert x["cachedFrom"] == {
        "executionId": source["executions"][0]["id"],
        "runId": prod_run,
        "workspace": production,
    }
    assert y["executions"][0]["workspace"] == development
    assert resolutions(server.run(again), "expensive") == ["executed"]


def test_three_levels_reuse_each_ancestors_results(server, start_worker, tmp_path):
    production = create_workspace(server, unique("production"))
    staging = create_workspace(server, unique("staging"), base=production)
    development = create_workspace(server, unique("development"), base=staging)
    for workspace in (production, staging, development):
        start_worker(server, CACHING, workspace=workspace)
    directory = str(tmp_path)

    prod_run, _ = run(server, "compute", directory, ["a"], workspace=production)
    staging_run, _ = run(server, "compute", directory, ["a", "b"], workspace=staging)
    dev_run, dev_value = run(server, "compute", directory, ["a", "b", "c"], workspace=development)

    assert dev_value == ["a#1", "b#1", "c#1"]
    sources = [s["cachedFrom"] for s in steps(server.run(dev_run), "expensive")]
    assert [(s or {}).get("workspace") for s in sources] == [production, staging, None]
    assert [(s or {}).get("runId") for s in sources] == [prod_run, staging_run, None]
    # Nobody sees the results of a workspace below them.
    assert run(server, "compute", directory, ["c"], workspace=staging)[1] == ["c#2"]
    assert run(server, "compute", directory, ["b", "c"], workspace=production)[1] == [
        "b#2",
        "c#3",
    ]
    assert [count(tmp_path, f"expensive-{x}") for x in "abc"] == [1, 2, 3]


def test_rerunning_in_development_reuses_productions_memoised_steps(server, start_worker, tmp_path):
    production = create_workspace(server, unique("production"))
    development = create_workspace(server, unique("development"), base=production)
    prod_worker = start_worker(server, CACHING, workspace=production)
    start_worker(server, CACHING, workspace=development)
    run_id, value = run(server, "pipeline", str(tmp_path), "abcd", workspace=production)
    assert value == [90, 1]
    # From here on only the development workspace has a worker.
    prod_worker.kill()

    code, rerun = cli_json(
        server, "runs", "rerun", f"{run_id}:1", "-w", development, "--output", "json"
    )

    assert code == 0, rerun
    assert (rerun["executionId"], rerun["value"]) == (f"{run_id}:1:2", [90, 2])
    assert [count(tmp_path, name) for name in ("extract", "transform", "load")] == [1, 1, 2]
    snapshot = server.run(run_id)
    [root] = steps(snapshot, "pipeline")
    assert [e["workspace"] for e in root["executions"]] == [production, development]
    assert root["executions"][1]["sessionId"] is not None
    [extract], [transform] = steps(snapshot, "extract"), steps(snapshot, "transform")
    for memoised in (extract, transform):
        assert memoised["resolution"] == "memoised"
        assert memoised["memoHits"] == [f"{run_id}:1:2"]
        assert [e["workspace"] for e in memoised["executions"]] == [production]
    assert [s["executions"][0]["workspace"] for s in steps(snapshot, "load")] == [
        production,
        development,
    ]

    text = inspect_text(server, run_id)
    assert f"executed, memoised: reused by 1 call ({run_id}:1:2)" in line_of(text, "extract")
    assert f"succeeded (attempt 2) in {development}" in line_of(text, "pipeline")


def test_runs_inspect_shows_where_a_cached_step_came_from(server, start_worker, tmp_path):
    production = create_workspace(server, unique("production"))
    development = create_workspace(server, unique("development"), base=production)
    start_worker(server, CACHING, workspace=production)
    start_worker(server, CACHING, workspace=development)
    prod_run, _ = run(server, "compute", str(tmp_path), ["x"], workspace=production)
    dev_run, _ = run(server, "compute", str(tmp_path), ["x"], workspace=development)
    [source] = steps(server.run(prod_run), "expensive")

    text = inspect_text(server, dev_run)
    code, as_json = cli_json(server, "runs", "inspect", dev_run, "--output", "json")

    source_id = source["executions"][0]["id"]
    expected = f"cached from {source_id} (run {prod_run}, workspace {production})"
    assert expected in line_of(text, "expensive")
    assert "[executed]" in line_of(text, "compute")
    assert code == 0
    [step] = steps(as_json, "expensive")
    assert (step["resolution"], step["cachedFrom"]) == (
        "cached",
        {"executionId": source_id, "runId": prod_run, "workspace": production},
    )


# --- re-running a cached or memoised step ---------------------------------------------------


def test_rerunning_a_cached_step_executes_it_and_later_hits_get_the_new_result(
    server, worker, tmp_path
):
    directory = str(tmp_path)
    assert run(server, "call_stamp", directory, "k")[1] == 1
    second, value = run(server, "call_stamp", directory, "k")
    assert value == 1
    [cached] = steps(server.run(second), "stamp")
    assert cached["resolution"] == "cached"

    code, rerun = cli_json(server, "runs", "rerun", cached["id"], "--output", "json")

    assert code == 0, rerun
    assert (rerun["attempt"], rerun["value"]) == (2, 2)
    assert count(tmp_path, "stamp-k") == 2
    [rerun_step] = steps(server.run(second), "stamp")
    assert [e["state"] for e in rerun_step["executions"]] == ["cached", "succeeded"]
    assert rerun_step["resolution"] == "executed"
    third, value = run(server, "call_stamp", directory, "k")
    assert value == 2
    [hit] = steps(server.run(third), "stamp")
    assert hit["cachedFrom"]["executionId"] == f"{cached['id']}:2"


def test_rerunning_a_memoised_step_executes_it_and_later_hits_get_the_new_result(
    server, worker, tmp_path
):
    run_id = server.submit(CACHING, "stamp_twice", str(tmp_path))
    wait_until(lambda: count(tmp_path, "memo_stamp") == 1, timeout=30)
    [memoised] = steps(server.run(run_id), "memo_stamp")

    code, rerun = cli_json(server, "runs", "rerun", memoised["id"], "--output", "json")
    assert code == 0, rerun
    assert rerun["value"] == 2
    mark(tmp_path, "go")

    assert value_of(server.result(run_id, wait=60)) == [1, 2]
    assert count(tmp_path, "memo_stamp") == 2
    [step] = steps(server.run(run_id), "memo_stamp")
    assert [e["memoHits"] for e in step["executions"]] == [[], [f"{run_id}:1:1"]]
    assert step["resolution"] == "memoised"


# --- pausing and archiving ------------------------------------------------------------------


def test_a_paused_workspace_holds_new_work_and_lets_running_work_finish(
    server, start_worker, tmp_path
):
    workspace = create_workspace(server, unique("paused"))
    start_worker(server, CACHING, workspace=workspace)
    running = server.submit(CACHING, "gate", str(tmp_path), workspace=workspace)
    wait_until(lambda: count(tmp_path, "gate") == 1, timeout=30)

    assert cli(server, "workspaces", "pause", "-w", workspace).returncode == 0
    queued = server.submit(CACHING, "compute", str(tmp_path), ["p"], workspace=workspace)
    mark(tmp_path, "go")

    assert value_of(server.result(running, wait=30)) == "through"
    time.sleep(1.5)
    assert server.result(queued, wait=0)["status"] == "queued"
    assert count(tmp_path, "expensive-p") == 0

    assert cli(server, "workspaces", "resume", "-w", workspace).returncode == 0
    assert value_of(server.result(queued, wait=60)) == ["p#1"]


def submit_delayed(server, workspace: str, *arguments, delay: float = 60) -> str:
    body = {"module": CACHING, "target": "compute", "arguments": list(arguments), "delay": delay}
    response = server.api("POST", f"/workspaces/{workspace}/runs", json=body)
    assert response.status_code == 201, response.text
    return response.json()["runId"]


@contextlib.contextmanager
def released(worker, directory):
    """Afterwards, let a waiting ``gate`` through and end the worker with its executors."""
    try:
        yield
    finally:
        mark(directory, "go")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.process.pid, signal.SIGKILL)


def test_archiving_is_refused_while_a_live_workspace_is_based_on_it(server, tmp_path):
    workspace = create_workspace(server, unique("parent"))
    child = create_workspace(server, f"{workspace}/child", base=workspace)
    cli(server, "manifests", "register", "-w", workspace, CACHING, check=True)
    queued = submit_delayed(server, workspace, str(tmp_path), ["q"])

    refused = cli(server, "workspaces", "archive", "-w", workspace)

    assert refused.returncode == 1
    assert f"based on it: {child}" in refused.stderr
    assert server.result(queued, wait=0)["status"] == "queued"
    assert cli(server, "workspaces", "archive", "-w", child).returncode == 0
    code, archived = cli_json(server, "workspaces", "archive", "-w", workspace, "-o", "json")
    assert (code, archived["cancelled"]) == (0, [f"{queued}:1:1"])


def test_archiving_cancels_queued_work_and_ends_the_workers_sessions(
    server, start_worker, tmp_path
):
    workspace = create_workspace(server, unique("archived"))
    archived_worker = start_worker(server, CACHING, workspace=workspace)
    running = server.submit(CACHING, "gate", str(tmp_path), workspace=workspace)
    wait_until(lambda: count(tmp_path, "gate") == 1, timeout=30)
    delayed = submit_delayed(server, workspace, str(tmp_path), ["q"])

    with released(archived_worker, tmp_path):
        code, archived = cli_json(server, "workspaces", "archive", "-w", workspace, "-o", "json")

        assert code == 0, archived
        assert (archived["state"], archived["cancelled"]) == ("archived", [f"{delayed}:1:1"])
        assert len(archived["sessions"]) == 1
        assert server.result(delayed)["status"] == "cancelled"
        assert server.result(running, wait=30)["status"] == "abandoned"
        wait_until(
            lambda: "the workspace was archived" in archived_worker.output(),
            timeout=10,
            message="the worker is told",
        )
        listed = [w["name"] for w in server.api("GET", "/workspaces").json()["workspaces"]]
        assert workspace not in listed
        # The name is free again, for a workspace that starts afresh.
        create_workspace(server, workspace)
        start_worker(server, CACHING, workspace=workspace)
        assert run(server, "compute", str(tmp_path), ["q"], workspace=workspace)[1] == ["q#1"]


def test_the_workers_of_an_archived_workspace_stop(server, start_worker, tmp_path):
    workspace = create_workspace(server, unique("archived"))
    archived_worker = start_worker(server, CACHING, workspace=workspace)
    assert run(server, "compute", str(tmp_path), ["w"], workspace=workspace)[1] == ["w#1"]

    with released(archived_worker, tmp_path):
        assert cli(server, "workspaces", "archive", "-w", workspace).returncode == 0

        wait_until(lambda: archived_worker.process.poll() is not None, timeout=20)


def test_runs_of_an_archived_workspace_stay_readable(server, start_worker, tmp_path):
    workspace = create_workspace(server, unique("old"))
    start_worker(server, CACHING, workspace=workspace)
    run_id, _ = run(server, "compute", str(tmp_path), ["r"], workspace=workspace)

    code, _ = cli_json(server, "workspaces", "archive", "-w", workspace, "-o", "json")

    assert code == 0
    snapshot = server.run(run_id)
    assert snapshot["workspace"] == workspace
    assert resolutions(snapshot, "expensive") == ["executed"]
    assert value_of(server.result(run_id)) == ["r#1"]
