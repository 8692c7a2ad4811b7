from __future__ import annotations

import re

import pytest

RUN_ID = re.compile(r"^R[bcdfghjkmnpqrstvwxz23456789]{6,}$")


def test_it_submits_without_waiting_and_prints_the_run_id(run_cli, client, registered):
    result = run_cli("submit", "app.flows/greet", '"world"', "--no-wait")

    assert result.exit_code == 0, result.output
    run_id = result.stdout.strip()
    assert RUN_ID.match(run_id)
    snapshot = client.run(run_id)
    assert snapshot["workspace"] == registered
    assert snapshot["steps"][0]["arguments"] == [
        {"type": "inline", "format": "json", "data": "world", "refs": []}
    ]


def test_it_prints_the_identifiers_as_json(run_cli, registered):
    ids = run_cli.json(
        "submit", "app.flows/greet", '{"first": "Ada"}', "-1", "--no-wait", "-o", "json"
    )

    assert RUN_ID.match(ids["runId"])
    assert ids["stepId"] == f"{ids['runId']}:1"
    assert ids["executionId"] == f"{ids['runId']}:1:1"


def test_it_returns_the_same_run_for_the_same_idempotency_key(run_cli, registered):
    args = ["submit", "app.flows/greet", '"x"', "--no-wait", "--idempotency-key", "once"]

    first = run_cli(*args)
    second = run_cli(*args)

    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout


def test_it_rejects_arguments_that_are_not_json(run_cli, registered):
    result = run_cli("submit", "app.flows/greet", "world", "--no-wait")

    assert result.exit_code == 2
    assert "argument 1 is not valid JSON" in result.stderr


def test_it_needs_module_and_target(run_cli, registered):
    result = run_cli("submit", "greet", "--no-wait")

    assert result.exit_code == 2
    assert "expected MODULE/TARGET" in result.stderr


def test_it_reports_an_unknown_target(run_cli, registered):
    result = run_cli("submit", "app.flows/nope", "--no-wait")

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: No workflow 'nope' registered in module 'app.flows' of workspace '{registered}'."
    )


def test_it_reports_wrong_arguments(run_cli, registered):
    result = run_cli("submit", "app.flows/greet", "--no-wait")

    assert result.exit_code == 1
    assert "missing argument(s): name" in result.stderr


def test_it_splits_the_target_on_the_last_slash(run_cli, client, workspace_name):
    client.register_manifests(workspace_name, {"pkg/sub.mod": [{"name": "go", "type": "workflow"}]})

    ids = run_cli.json("submit", "pkg/sub.mod/go", "--no-wait", "-o", "json")

    step = client.run(ids["runId"])["steps"][0]
    assert (step["module"], step["target"]) == ("pkg/sub.mod", "go")


def test_it_reports_an_unreachable_server(run_cli, registered):
    result = run_cli("submit", "app.flows/greet", '"x"', env={"COFLUX_HOST": "127.0.0.1:9"})

    assert result.exit_code == 1
    assert "cannot reach the server at http://127.0.0.1:9" in result.stderr


def test_the_server_accepts_the_overrides(run_cli, client, registered):
    ids = run_cli.json(
        "submit",
        "app.flows/greet",
        '"x"',
        "--no-wait",
        "-o",
        "json",
        "--delay",
        "60",
        "--retries",
        "2",
        "--requires",
        "gpu:A100,gpu:H100",
        "--requires",
        "fast",
        "--no-memo",
    )

    # What is stored is checked by tests/server/test_submit.py.
    assert client.run(ids["runId"])["status"] == "queued"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delay", "-1"], "--delay"),
        (["--delay", "soon"], "--delay"),
        (["--delay", "inf"], "--delay"),
        (["--retries", "-1"], "--retries"),
        (["--retries", "1.5"], "--retries"),
        (["--requires", "gpu:"], "--requires"),
        (["--requires", "gpu:A100", "--no-requires"], "either --requires or --no-requires"),
    ],
)
def test_it_rejects_malformed_options(run_cli, registered, args, message):
    result = run_cli("submit", "app.flows/greet", '"x"', "--no-wait", *args)

    assert result.exit_code == 2
    assert message in result.stderr


def test_it_sends_the_overrides(monkeypatch, run_cli, registered):
    from coflux._client import Client

    sent: list[dict] = []
    original = Client._request

    def record(self, method, path, **kwargs):
        if method == "POST" and path.endswith("/runs"):
            sent.append(kwargs["json"])
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(Client, "_request", record)

    run_cli("submit", "app.flows/greet", '"x"', "--no-wait")
    run_cli(
        "submit",
        "app.flows/greet",
        '"x"',
        "--no-wait",
        "--delay",
        "1.5",
        "--retries",
        "0",
        "--requires",
        "gpu:A100,gpu:H100",
        "--requires",
        "fast",
        "--memo",
    )
    run_cli("submit", "app.flows/greet", '"x"', "--no-wait", "--no-requires", "--no-memo")

    assert sent[0] == {"module": "app.flows", "target": "greet", "arguments": ["x"]}
    assert sent[1] == {
        "module": "app.flows",
        "target": "greet",
        "arguments": ["x"],
        "delay": 1.5,
        "retries": 0,
        "requires": {"gpu": ["A100", "H100"], "fast": ["true"]},
        "memo": True,
    }
    assert sent[2]["requires"] is None
    assert sent[2]["memo"] is False
