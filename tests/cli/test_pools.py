"""``coflux pools …`` against a real server that allows every launcher type (no work is
submitted here, so nothing is launched)."""

from __future__ import annotations

import tomllib

import pytest

from coflux._cli.pool_files import PoolFileError, dumps, loads
from coflux.cli import cli
from tests.processes import Server


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    server = Server(
        tmp_path_factory.mktemp("pools-cli"), COFLUX_LAUNCHER_TYPES="process,docker,kubernetes"
    ).start()
    yield server.host
    server.close()


@pytest.fixture
def space(client, workspace_name):
    client.create_workspace(workspace_name)
    return workspace_name


def create(run_cli, name="local", *options):
    result = run_cli(
        "pools", "create", name, "--type", "process", "--set", "directory=/srv", *options
    )
    assert result.exit_code == 0, result.output
    return result


def test_pool_create_and_list(run_cli, space):
    created = create(run_cli, "local", "-m", "app.flows,app.more", "--provides", "gpu:A100")

    listed = run_cli.json("pools", "list", "-o", "json")["pools"]
    table = run_cli("pools", "list")

    assert created.stdout.strip() == "Created pool local (process)."
    assert [(p["name"], p["modules"], p["provides"]) for p in listed] == [
        ("local", ["app.flows", "app.more"], {"gpu": ["A100"]})
    ]
    assert "local" in table.stdout and "process" in table.stdout


def test_pool_get(run_cli, space):
    create(
        run_cli,
        "local",
        "-m",
        "app.flows",
        "--set",
        "adapter=uv,run,coflux",
        "--set",
        "concurrency=3",
        "--set",
        "env.MODE=test",
    )

    pool = run_cli.json("pools", "get", "local", "-o", "json")
    text = run_cli("pools", "get", "local").stdout

    assert (pool["type"], pool["modules"]) == ("process", ["app.flows"])
    assert pool["fields"] == {
        "directory": "/srv",
        "adapter": ["uv", "run", "coflux"],
        "concurrency": 3,
        "env": {"MODE": "test"},
    }
    assert "directory" in text and "/srv" in text and "env.MODE" in text


def test_pool_delete(run_cli, client, space):
    create(run_cli)

    deleted = run_cli("pools", "delete", "local")

    assert deleted.exit_code == 0, deleted.output
    assert client.pools(space) == []


def test_create_already_exists(run_cli, space):
    create(run_cli)

    again = run_cli("pools", "create", "local", "--type", "process")

    assert again.exit_code == 1
    assert "already exists" in again.output


def test_update_nonexistent(run_cli, space):
    result = run_cli("pools", "update", "nothing", "--set", "concurrency=2")

    assert result.exit_code == 1
    assert "No pool named 'nothing'" in result.output


def test_update_common_fields(run_cli, space):
    create(run_cli, "local", "-m", "a", "--provides", "gpu:A100", "--set", "env.A=1")

    updated = run_cli.json(
        "pools",
        "update",
        "local",
        "--set",
        "concurrency=8",
        "--set",
        "env.B=2",
        "--unset",
        "env.A",
        "--no-provides",
        "-o",
        "json",
    )

    assert updated["fields"] == {"directory": "/srv", "concurrency": 8, "env": {"B": "2"}}
    assert (updated["modules"], updated["provides"]) == (["a"], {})


def test_update_refuses_a_field_of_another_type(run_cli, space):
    create(run_cli)

    result = run_cli("pools", "update", "local", "--set", "image=app:1")

    assert result.exit_code == 1
    assert "has no field 'image'" in result.output


def test_enable_and_disable(run_cli, space):
    create(run_cli)

    disabled = run_cli.json("pools", "disable", "local", "-o", "json")
    enabled = run_cli("pools", "enable", "local")

    assert disabled["state"] == "disabled"
    assert enabled.stdout.strip() == "Enabled pool local."


def test_launches_of_a_pool_that_launched_nothing(run_cli, space):
    create(run_cli)

    assert run_cli.json("pools", "launches", "local", "-o", "json") == {"launches": []}
    assert run_cli("pools", "launches", "local").stdout.strip() == "No workers launched."
    assert run_cli("pools", "launches", "nothing").exit_code == 1


def test_export_then_import_elsewhere(run_cli, client, space, tmp_path):
    create(run_cli, "local", "-m", "app.flows", "--set", 'env.QUOTE=say "hi"\n')
    run_cli(
        "pools",
        "create",
        "gpu",
        "--type",
        "kubernetes",
        "--set",
        "image=app:1",
        "--set",
        "token=s3cret",
        "--accepts",
        "gpu:A100",
    )
    exported = run_cli("pools", "export", "-o", str(tmp_path / "pools.toml"))
    assert exported.exit_code == 0, exported.output
    written = tomllib.loads((tmp_path / "pools.toml").read_text())
    assert "token" not in written["pools"]["gpu"]["fields"]

    other = f"{space}-copy"
    client.create_workspace(other)
    path = str(tmp_path / "pools.toml")
    dry = run_cli.json("pools", "import", path, "--dry-run", "-w", other, "-o", "json")
    assert dry == {"created": ["gpu", "local"], "updated": [], "unchanged": [], "dryRun": True}
    assert client.pools(other) == []

    text = (tmp_path / "pools.toml").read_text()
    refused = run_cli.runner.invoke(
        cli, ["pools", "import", "-w", other], input=text, env=run_cli.env
    )
    assert refused.exit_code == 2 and "--yes" in refused.output

    applied = run_cli.json(
        "pools", "import", path, "--yes", "--only", "local", "-w", other, "-o", "json"
    )
    assert applied == {"created": ["local"], "updated": [], "unchanged": [], "dryRun": False}
    assert client.pool(other, "local")["fields"]["env"] == {"QUOTE": 'say "hi"\n'}
    again = run_cli.json(
        "pools", "import", path, "--yes", "--only", "local", "-w", space, "-o", "json"
    )
    assert again["unchanged"] == ["local"]


def test_export_of_only_some_pools_to_stdout(run_cli, space):
    create(run_cli, "a")
    create(run_cli, "b")

    result = run_cli("pools", "export", "--only", "b")

    assert list(tomllib.loads(result.stdout)["pools"]) == ["b"]


# --- the pools file ---------------------------------------------------------------------------


def test_a_pools_file_reads_back_what_was_written():
    pools = {
        "plain": {"type": "process", "modules": [], "provides": {}, "fields": {}},
        "odd name": {
            "type": "kubernetes",
            "state": "disabled",
            "modules": ["a.b"],
            "provides": {"gpu": ["A100", "H100"], "key with space": ["v"]},
            "fields": {
                "env": {"A": 'quo"te\\ \t\n\x7f\x01 é ☕ \U0001f600'},
                "concurrency": 4,
                "insecure": True,
                "resources": {"limits": {"cpu": 0.5, "nvidia.com/gpu": 1}},
                "imagePullSecrets": ["x", "y"],
            },
        },
    }

    assert loads(dumps(pools)) == pools


def test_a_pools_file_that_is_not_one_is_refused():
    with pytest.raises(PoolFileError):
        loads("[pools.a\ntype=")
    with pytest.raises(PoolFileError):
        loads("[other]\nx = 1\n")
    with pytest.raises(PoolFileError):
        loads("pools = { a = 1 }\n")
