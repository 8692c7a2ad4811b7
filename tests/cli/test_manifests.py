from __future__ import annotations

from tests.cli.conftest import FIXTURES
from tests.sample_targets import GREET


def test_it_inspects_registered_workflows(run_cli, registered):
    listed = run_cli.json("manifests", "inspect", "-o", "json")

    assert listed == {"modules": {"app.flows": [GREET]}}


def test_it_shows_registered_workflows_as_a_table(run_cli, registered):
    result = run_cli("manifests", "inspect")

    assert result.exit_code == 0, result.output
    assert "greet(name: str, punctuation: str = " in result.stdout
    assert "Say hello." in result.stdout


def test_it_says_when_nothing_is_registered(run_cli, client, workspace_name):
    client.register_manifests(workspace_name, {})

    result = run_cli("manifests", "inspect")

    assert result.exit_code == 0, result.output
    assert f"No workflows registered in workspace {workspace_name}." in result.stdout


def test_it_registers_the_workflows_of_a_module(run_cli, monkeypatch):
    monkeypatch.chdir(FIXTURES)

    result = run_cli("manifests", "register", "greetings")

    assert result.exit_code == 0, result.output
    assert "Registered greetings in workspace" in result.stdout
    listed = run_cli.json("manifests", "inspect", "-o", "json")
    workflows = listed["modules"]["greetings"]
    assert [w["name"] for w in workflows] == ["greet", "wave"]
    assert workflows[0]["parameters"] == [
        {"name": "name", "annotation": "str", "default": None},
        {"name": "punctuation", "annotation": "str", "default": '"!"'},
    ]
    assert workflows[0]["instruction"] == "Say hello to someone."


def test_it_discovers_workflows_without_registering_them(run_cli, monkeypatch, workspace_name):
    monkeypatch.chdir(FIXTURES)

    found = run_cli.json("manifests", "discover", "greetings", "-o", "json")
    table = run_cli("manifests", "discover", "greetings", "--host", "127.0.0.1:1")

    assert [w["name"] for w in found["modules"]["greetings"]] == ["greet", "wave"]
    assert table.exit_code == 0, table.output
    assert "greet(name: str" in table.stdout and "Say hello to someone." in table.stdout
    nothing = run_cli("manifests", "inspect")  # nothing was sent: the workspace was not made
    assert nothing.exit_code == 1 and f"No workspace named '{workspace_name}'" in nothing.stderr


def test_it_takes_the_modules_from_coflux_toml(run_cli, monkeypatch):
    monkeypatch.chdir(FIXTURES)

    result = run_cli(
        "manifests", "register", "-o", "json", env={"COFLUX_WORKER_MODULES": "greetings"}
    )

    assert result.exit_code == 0, result.output
    assert '"greetings"' in result.stdout


def test_it_reports_a_module_that_cannot_be_imported(run_cli):
    result = run_cli("manifests", "register", "no_such_module_here")

    assert result.exit_code == 1
    assert "cannot load no_such_module_here" in result.stderr


def test_it_needs_modules_to_register(run_cli):
    result = run_cli("manifests", "register")

    assert result.exit_code == 2
    assert "name the modules" in result.stderr


def test_it_archives_a_module(run_cli, client, registered, workspace_name):
    result = run_cli("manifests", "archive", "app.flows")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Archived app.flows in workspace {workspace_name}."
    assert client.manifests(workspace_name) == {}


def test_it_archives_a_module_as_json(run_cli, registered, workspace_name):
    archived = run_cli.json("manifests", "archive", "app.flows", "-o", "json")

    assert archived == {"workspace": workspace_name, "module": "app.flows", "archived": True}


def test_it_reports_an_unknown_module(run_cli, registered, workspace_name):
    result = run_cli("manifests", "archive", "app.nothing")

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: No module 'app.nothing' registered in workspace {workspace_name!r}."
    )
