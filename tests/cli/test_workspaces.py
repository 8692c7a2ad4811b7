from __future__ import annotations


def listed(client, prefix: str) -> list[dict]:
    return [w for w in client.workspaces() if w["name"].startswith(prefix)]


def test_it_creates_and_lists_workspaces(run_cli, client, workspace_name):
    created = run_cli("workspaces", "create", workspace_name)
    child = run_cli.json(
        "workspaces", "create", f"{workspace_name}/a", "--base", workspace_name, "-o", "json"
    )

    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == f"Created workspace {workspace_name} (active)."
    assert child == {"name": f"{workspace_name}/a", "base": workspace_name, "state": "active"}
    assert listed(client, workspace_name) == [
        {"name": workspace_name, "base": None, "state": "active"},
        {"name": f"{workspace_name}/a", "base": workspace_name, "state": "active"},
    ]


def test_it_lists_workspaces_as_json_and_as_a_table(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)

    as_json = run_cli.json("workspaces", "list", "-o", "json")
    table = run_cli("workspaces", "list")

    assert {"name": workspace_name, "base": None, "state": "active"} in as_json["workspaces"]
    assert table.exit_code == 0, table.output
    assert workspace_name in table.stdout
    assert "state" in table.stdout


def test_it_reports_a_duplicate_workspace(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)

    result = run_cli("workspaces", "create", workspace_name.upper())

    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: A workspace named {workspace_name!r} already exists."


def test_it_reports_an_unknown_base(run_cli, workspace_name):
    result = run_cli("workspaces", "create", workspace_name, "--base", "nothing-here")

    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: No base workspace named 'nothing-here'."


def test_it_renames_the_chosen_workspace(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)

    result = run_cli("workspaces", "update", "--name", f"{workspace_name}-renamed")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Updated workspace {workspace_name}-renamed (active)."
    assert [w["name"] for w in listed(client, workspace_name)] == [f"{workspace_name}-renamed"]


def test_it_sets_and_removes_the_base(run_cli, client, workspace_name):
    base = f"{workspace_name}-base"
    client.create_workspace(base)
    client.create_workspace(workspace_name)

    based = run_cli.json("workspaces", "update", "--base", base, "-o", "json")
    unbased = run_cli.json("workspaces", "update", "--no-base", "-o", "json")

    assert based["base"] == base
    assert unbased["base"] is None


def test_it_reports_a_cycle(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)
    client.create_workspace(f"{workspace_name}/child", base=workspace_name)

    result = run_cli("workspaces", "update", "--base", f"{workspace_name}/child")

    assert result.exit_code == 1
    assert "would make a cycle" in result.stderr


def test_it_needs_something_to_update(run_cli, workspace_name):
    result = run_cli("workspaces", "update")

    assert result.exit_code == 2
    assert "nothing to change" in result.stderr


def test_it_refuses_base_and_no_base_together(run_cli, workspace_name):
    result = run_cli("workspaces", "update", "--base", "x", "--no-base")

    assert result.exit_code == 2
    assert "either --base or --no-base" in result.stderr


def test_it_pauses_and_resumes_the_chosen_workspace(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)

    paused = run_cli("workspaces", "pause")
    state_paused = listed(client, workspace_name)[0]["state"]
    resumed = run_cli.json("workspaces", "resume", "-o", "json")

    assert paused.exit_code == 0, paused.output
    assert paused.stdout.strip() == f"Paused workspace {workspace_name}."
    assert state_paused == "paused"
    assert resumed == {"name": workspace_name, "base": None, "state": "active"}


def test_it_pauses_the_workspace_named_by_the_flag(run_cli, client, workspace_name):
    other = f"{workspace_name}-other"
    client.create_workspace(other)

    result = run_cli("workspaces", "pause", "-w", other)

    assert result.exit_code == 0, result.output
    assert listed(client, other)[0]["state"] == "paused"


def test_it_reports_an_unknown_workspace(run_cli, workspace_name):
    result = run_cli("workspaces", "pause")

    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: No workspace named {workspace_name!r}."


def test_a_paused_workspace_starts_nothing_until_resumed(run_cli, client, worker):
    assert run_cli("workspaces", "pause").exit_code == 0
    run_id = run_cli.json("submit", "greetings/greet", '"ada"', "--no-wait", "-o", "json")["runId"]

    assert client.wait_for_result(run_id, timeout=2)["status"] == "queued"

    assert run_cli("workspaces", "resume").exit_code == 0
    outcome = client.wait_for_result(run_id, timeout=60)
    assert outcome["status"] == "succeeded", worker.read_text()


def test_it_archives_the_chosen_workspace(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)

    result = run_cli("workspaces", "archive")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"Archived workspace {workspace_name}: cancelled 0 queued executions, "
        "ended 0 worker sessions."
    )
    assert listed(client, workspace_name) == []
    assert client.create_workspace(workspace_name)["state"] == "active"


def test_it_archives_as_json_with_what_was_cancelled(run_cli, client, registered, workspace_name):
    run_id = client.submit(workspace_name, "app.flows", "greet", ["ada"])["runId"]

    archived = run_cli.json("workspaces", "archive", "-o", "json")

    assert archived == {
        "name": workspace_name,
        "base": None,
        "state": "archived",
        "cancelled": [f"{run_id}:1:1"],
        "sessions": [],
    }
    assert client.result(run_id)["status"] == "cancelled"


def test_it_refuses_to_archive_a_workspace_with_children(run_cli, client, workspace_name):
    client.create_workspace(workspace_name)
    client.create_workspace(f"{workspace_name}/child", base=workspace_name)

    result = run_cli("workspaces", "archive")

    assert result.exit_code == 1
    assert "cannot be archived while workspaces are based on it" in result.stderr
    assert [w["state"] for w in listed(client, workspace_name)] == ["active", "active"]
