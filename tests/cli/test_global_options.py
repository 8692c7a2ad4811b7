"""The global options, before the command or after its name, and how they beat the environment
and coflux.toml — seen through which server the CLI reaches."""

from __future__ import annotations

UNREACHABLE = "127.0.0.1:9"


def test_it_uses_the_host_from_coflux_toml(run_cli, host, tmp_path, registered):
    (tmp_path / "coflux.toml").write_text(f'host = "{host}"\n')

    result = run_cli("manifests", "inspect", env={"COFLUX_HOST": ""})

    assert result.exit_code == 0, result.output
    assert "app.flows" in result.stdout


def test_the_environment_beats_coflux_toml(run_cli, host, tmp_path, registered):
    (tmp_path / "coflux.toml").write_text(f'host = "{host}"\n')

    result = run_cli("manifests", "inspect", env={"COFLUX_HOST": UNREACHABLE})

    assert result.exit_code == 1
    assert f"cannot reach the server at http://{UNREACHABLE}" in result.stderr


def test_a_flag_beats_the_environment(run_cli, host, registered):
    result = run_cli("--host", host, "manifests", "inspect", env={"COFLUX_HOST": UNREACHABLE})

    assert result.exit_code == 0, result.output


def test_options_are_accepted_after_the_command_name(run_cli, registered):
    result = run_cli("manifests", "inspect", "--output", "json")

    assert result.exit_code == 0, result.output
    assert '"app.flows"' in result.stdout


def test_an_option_after_the_command_beats_the_same_option_before_it(run_cli, host, registered):
    result = run_cli("--host", UNREACHABLE, "-o", "text", "manifests", "inspect", "--host", host)

    assert result.exit_code == 0, result.output


def test_options_after_a_subgroup_name_are_accepted_too(run_cli, registered):
    assert run_cli.json("manifests", "-o", "json", "inspect")["modules"]["app.flows"]


def test_the_workspace_option_picks_the_workspace(run_cli, registered):
    listed = run_cli.json("manifests", "inspect", "-o", "json", "-w", registered)

    assert list(listed["modules"]) == ["app.flows"]
    other = run_cli("manifests", "inspect", "-w", "never-used")
    assert other.exit_code == 1
    assert "No workspace named 'never-used'" in other.stderr


def test_it_reports_an_invalid_coflux_toml(run_cli, tmp_path):
    (tmp_path / "coflux.toml").write_text('colour = "red"\n')

    result = run_cli("manifests", "inspect")

    assert result.exit_code == 1
    assert "unknown setting colour" in result.stderr


def test_it_reports_an_unknown_project(run_cli):
    result = run_cli("--project", "nowhere", "manifests", "inspect")

    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: No project named 'nowhere'."
