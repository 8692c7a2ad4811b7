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


def test_it_reports_an_unknown_run(run_cli, registered):
    result = run_cli("runs", "inspect", "Rnothing", "--no-wait")

    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: No run 'Rnothing'."
