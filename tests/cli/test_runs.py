from __future__ import annotations

import pytest


@pytest.fixture
def run_id(client, registered) -> str:
    return client.submit(registered, "app.flows", "greet", ["world"])["run_id"]


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
