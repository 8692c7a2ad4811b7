from __future__ import annotations

import json

import pytest


@pytest.fixture
def run_id(client, registered) -> str:
    return client.submit(registered, "app.flows", "greet", ["world"])["runId"]


def test_it_shows_a_queued_run_as_a_tree(run_cli, run_id):
    result = run_cli("runs", "inspect", run_id, "--no-wait")

    assert result.exit_code == 0, result.output
    assert f"Run {run_id}  queued" in result.stdout
    assert f"app.flows/greet  {run_id}:1  queued" in result.stdout


def test_it_shows_the_snapshot_as_json(run_cli, client, run_id):
    snapshot = run_cli.json("runs", "inspect", run_id, "--no-wait", "-o", "json")

    assert snapshot == client.run(run_id)
    assert snapshot["status"] == "queued"
    assert snapshot["steps"][0]["executions"][0]["state"] == "queued"


def test_it_shows_the_result_of_an_unfinished_run(run_cli, run_id):
    assert run_cli.json("runs", "result", run_id, "--no-wait", "-o", "json") == {"status": "queued"}
    text = run_cli("runs", "result", run_id, "--no-wait")
    assert (text.exit_code, text.stdout.strip()) == (0, "queued")


def test_it_shows_the_result_of_a_step_and_of_one_attempt(run_cli, finished_run):
    shout = run_cli.json("runs", "result", f"{finished_run}:2", "-o", "json")
    root = run_cli("runs", "result", f"{finished_run}:1:1")

    assert shout == {"status": "succeeded", "value": "HELLO ADA!"}
    assert (root.exit_code, root.stdout.strip()) == (0, '"HELLO ADA!"')


def test_it_reports_an_unknown_step_or_a_malformed_reference(run_cli, finished_run):
    missing = run_cli("runs", "result", f"{finished_run}:9")
    malformed = run_cli("runs", "result", f"{finished_run}::1")

    assert (missing.exit_code, missing.stderr.strip()) == (1, f"Error: No step '{finished_run}:9'.")
    assert malformed.exit_code == 2 and "RUN:STEP:ATTEMPT" in malformed.stderr


def test_it_reports_an_unknown_run(run_cli, registered):
    result = run_cli("runs", "inspect", "Rnothing", "--no-wait")

    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: No run 'Rnothing'."


# --- cancel ---------------------------------------------------------------------------------


def test_it_cancels_an_execution(run_cli, client, run_id):
    result = run_cli("runs", "cancel", f"{run_id}:1:1")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Cancelled {run_id}:1:1"
    assert client.result(run_id)["status"] == "cancelled"


def test_it_says_when_there_was_nothing_to_cancel(run_cli, client, run_id):
    client.cancel(f"{run_id}:1:1")

    text = run_cli("runs", "cancel", f"{run_id}:1:1")
    as_json = run_cli.json("runs", "cancel", f"{run_id}:1:1", "-o", "json")

    assert text.stdout.strip() == f"Nothing to cancel: {run_id}:1:1 has already finished."
    assert as_json == {"cancelled": []}


def test_it_prints_what_was_cancelled_as_json(run_cli, run_id):
    assert run_cli.json("runs", "cancel", f"{run_id}:1:1", "-o", "json") == {
        "cancelled": [f"{run_id}:1:1"]
    }


def test_it_reports_an_unknown_execution(run_cli, registered):
    result = run_cli("runs", "cancel", "Rnothing:1:1")

    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: No execution 'Rnothing:1:1'."


# --- re-run ---------------------------------------------------------------------------------


def test_it_reruns_a_step_without_waiting(run_cli, client, run_id):
    result = run_cli("runs", "rerun", f"{run_id}:1", "--no-wait")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{run_id}:1:2"
    executions = client.run(run_id)["steps"][0]["executions"]
    assert [e["state"] for e in executions] == ["cancelled", "queued"]


def test_it_prints_the_rerun_as_json(run_cli, run_id, workspace_name):
    started = run_cli.json("runs", "rerun", f"{run_id}:1", "--no-wait", "-o", "json")

    assert started == {
        "runId": run_id,
        "stepId": f"{run_id}:1",
        "executionId": f"{run_id}:1:2",
        "attempt": 2,
    }


def test_it_reruns_in_the_workspace_named_by_the_flag(run_cli, client, run_id, workspace_name):
    child = f"{workspace_name}/child"
    client.create_workspace(child, base=workspace_name)

    run_cli.json("runs", "rerun", f"{run_id}:1", "--no-wait", "-o", "json", "-w", child)

    assert client.run(run_id)["steps"][0]["executions"][-1]["workspace"] == child


def test_it_reruns_in_the_steps_own_workspace_when_none_is_configured(
    run_cli, client, run_id, workspace_name
):
    # The environment names the test's workspace; without it the step's own is used.
    result = run_cli("runs", "rerun", f"{run_id}:1", "--no-wait", env={"COFLUX_WORKSPACE": ""})

    assert result.exit_code == 0, result.output
    assert client.run(run_id)["steps"][0]["executions"][-1]["workspace"] == workspace_name


def test_it_reports_a_workspace_outside_the_steps_tree(run_cli, client, run_id, workspace_name):
    client.create_workspace(f"{workspace_name}-elsewhere")

    result = run_cli("runs", "rerun", f"{run_id}:1", "-w", f"{workspace_name}-elsewhere")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")


def test_it_needs_run_and_step(run_cli, registered):
    result = run_cli("runs", "rerun", "Rabc")

    assert result.exit_code == 2
    assert "expected RUN:STEP" in result.stderr


def test_it_reports_an_unknown_step(run_cli, registered):
    result = run_cli("runs", "rerun", "Rnothing:1", "--no-wait")

    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: No step 'Rnothing:1'."


# --- re-run, waiting for a worker -----------------------------------------------------------


def test_it_reruns_the_root_step_and_waits_for_the_result(run_cli, finished_run):
    result = run_cli("runs", "rerun", f"{finished_run}:1")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{finished_run}:1:2", '"HELLO ADA!"']


def test_it_reruns_a_task_step_and_waits_for_its_result(run_cli, client, finished_run):
    outcome = run_cli.json("runs", "rerun", f"{finished_run}:2", "-o", "json")

    assert outcome == {
        "runId": finished_run,
        "stepId": f"{finished_run}:2",
        "executionId": f"{finished_run}:2:2",
        "attempt": 2,
        "status": "succeeded",
        "value": "HELLO ADA!",
    }
    shout = client.run(finished_run)["steps"][1]
    assert [e["state"] for e in shout["executions"]] == ["succeeded", "succeeded"]


def test_it_reruns_in_the_workspace_of_coflux_toml(
    run_cli, client, run_id, workspace_name, tmp_path
):
    child = f"{workspace_name}/toml"
    client.create_workspace(child, base=workspace_name)
    (tmp_path / "coflux.toml").write_text(f'workspace = "{child}"\n')

    result = run_cli("runs", "rerun", f"{run_id}:1", "--no-wait", env={"COFLUX_WORKSPACE": ""})

    assert result.exit_code == 0, result.output
    assert client.run(run_id)["steps"][0]["executions"][-1]["workspace"] == child


# --- attempts: their own outcomes, and where a run's result comes from -----------------------


@pytest.fixture
def retried_run(run_cli, client, worker, tmp_path) -> str:
    """A run of ``flaky/retried``: its step 2 failed at attempt 1 and succeeded at attempt 2."""
    marker = json.dumps(str(tmp_path / "marker"))
    ids = run_cli.json("submit", "flaky/retried", marker, "--no-wait", "-o", "json")
    assert client.wait_for_result(ids["runId"], timeout=60)["status"] == "succeeded"
    return ids["runId"]


def test_a_named_attempt_gives_its_own_outcome(run_cli, retried_run):
    first = run_cli("runs", "result", f"{retried_run}:2:1")
    first_json = json.loads(run_cli("runs", "result", f"{retried_run}:2:1", "-o", "json").stdout)
    second = run_cli("runs", "result", f"{retried_run}:2:2")
    step = run_cli("runs", "result", f"{retried_run}:2")

    assert first.exit_code == 1
    assert first.stdout.strip().endswith("builtins.ValueError: first try")
    assert first_json == {
        "status": "failed",
        "error": {"type": "builtins.ValueError", "message": "first try"},
    }
    assert (second.exit_code, second.stdout.strip()) == (0, '"second try"')
    assert (step.exit_code, step.stdout.strip()) == (0, '"second try"')


def test_inspect_shows_the_errors_of_earlier_attempts(run_cli, retried_run):
    shown = run_cli("runs", "inspect", retried_run, "--no-wait")

    assert shown.exit_code == 0, shown.output
    assert f"flaky/once  {retried_run}:2  succeeded (attempt 2)" in shown.stdout
    assert "attempt 1  failed → builtins.ValueError: first try" in shown.stdout


def test_inspect_says_which_attempt_the_result_comes_from(run_cli, client, finished_run):
    assert "result from attempt" not in run_cli("runs", "inspect", finished_run).stdout

    run_cli("runs", "rerun", f"{finished_run}:1")
    shown = run_cli("runs", "inspect", finished_run)

    assert f"[result from attempt 2 ({finished_run}:1:2)]" in " ".join(shown.stdout.split())


# --- list -----------------------------------------------------------------------------------


def test_it_lists_runs_newest_first_as_a_table_and_as_json(run_cli, client, registered):
    older = client.submit(registered, "app.flows", "greet", ["a"])["runId"]
    newer = client.submit(registered, "app.flows", "greet", ["b"])["runId"]

    table = run_cli("runs", "list")
    listed = run_cli.json("runs", "list", "-o", "json")["runs"]

    assert table.exit_code == 0, table.output
    assert table.stdout.index(newer) < table.stdout.index(older)
    assert "app.flows/greet" in table.stdout and "queued" in table.stdout
    assert [run["id"] for run in listed] == [newer, older]
    assert set(listed[0]) == {"id", "module", "target", "status", "createdAt"}


def test_it_filters_runs_by_status_workflow_and_age(run_cli, client, finished_run):
    queued = client.submit(client_workspace(client, finished_run), "greetings", "wave", [])["runId"]

    def ids(*options: str) -> list[str]:
        return [run["id"] for run in run_cli.json("runs", "list", *options, "-o", "json")["runs"]]

    assert finished_run in ids("--status", "succeeded")
    assert finished_run not in ids("--status", "queued")
    assert ids("--workflow", "greetings/greet") == [finished_run]
    assert queued not in ids("--workflow", "greetings/greet")
    assert set(ids("--since", "1h")) >= {finished_run}
    assert ids("--since", "2000-01-01T00:00:00+00:00", "--limit", "1") != []
    assert ids("--since", "2999-01-01") == []


def client_workspace(client, run_id: str) -> str:
    return client.run(run_id)["workspace"]


def test_it_refuses_malformed_filters(run_cli, registered):
    since = run_cli("runs", "list", "--since", "yesterday")
    workflow = run_cli("runs", "list", "--workflow", "greet")

    assert since.exit_code == 2 and "--since" in since.stderr
    assert workflow.exit_code == 2 and "MODULE/TARGET" in workflow.stderr
