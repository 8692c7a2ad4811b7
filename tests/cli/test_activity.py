"""``coflux sessions list`` and ``coflux queue`` against the real server."""

from __future__ import annotations

from tests.processes import wait_until


def test_sessions_list_shows_the_connected_worker(run_cli, worker, workspace_name):
    listed = wait_until(lambda: run_cli.json("sessions", "list", "-o", "json")["sessions"])
    (session,) = listed
    assert session["state"] == "connected"
    assert session["targets"] >= 1 and session["load"] == 0

    table = run_cli("sessions", "list")
    assert table.exit_code == 0, table.output
    assert session["id"] in table.stdout and "connected" in table.stdout


def test_the_queue_shows_a_run_nobody_can_take(run_cli, client, registered):
    run_id = client.submit(registered, "app.flows", "greet", ["world"])["run_id"]

    (queued,) = run_cli.json("queue", "-o", "json")["executions"]
    table = run_cli("queue")

    assert (queued["execution_id"], queued["status"]) == (f"{run_id}:1:1", "no session")
    assert table.exit_code == 0, table.output
    assert "no session" in table.stdout and "app.flows/greet" in table.stdout


def test_an_empty_workspace_says_so(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)
    assert run_cli("queue").stdout.strip() == "Nothing queued or running."
    assert run_cli("sessions", "list").stdout.strip() == "No worker sessions."


def test_an_unknown_workspace_is_an_error(run_cli):
    result = run_cli("queue", "-w", "no-such-workspace")
    assert result.exit_code == 1
    assert "no-such-workspace" in result.output
