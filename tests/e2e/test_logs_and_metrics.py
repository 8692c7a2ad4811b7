"""Logs and metrics end to end: real server, real worker, the ``coflux logs`` command."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from tests.processes import ROOT, cli, cli_env, cli_json

pytestmark = pytest.mark.e2e

FLOWS = "tests.e2e.flows.telemetry"


@pytest.fixture(scope="module")
def telemetry_worker(server):
    from tests.processes import Worker

    worker = Worker(server, FLOWS)
    yield worker
    worker.kill()


def finished(server, run_id):
    result = server.result(run_id)
    assert result["status"] == "succeeded", result
    return result


def logs(server, run_id, **params):
    response = server.api("GET", f"/runs/{run_id}/logs", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_logs_with_templates_and_values_appear_in_order(server, telemetry_worker):
    run_id = server.submit(FLOWS, "chatter", 4)
    finished(server, run_id)

    code, output = cli_json(server, "logs", run_id, "-o", "json")

    assert code == 0
    lines = output["logs"]
    assert output["cursor"] == logs(server, run_id)["cursor"]
    shown = [(line["executionId"], line["level"], line["template"]) for line in lines]
    root, child = f"{run_id}:1:1", f"{run_id}:2:1"
    assert shown == [
        (root, 2, "starting with {n}"),
        *[(child, 2, "counted {i} of {n}")] * 4,
        (child, 1, "counting done"),
        (child, 3, "a warning on stderr"),
        (child, 0, "debugging {what}"),
        (child, 4, "careful"),
        (child, 5, ""),
        (root, 2, "finished"),
    ]
    # Values are stored apart from the template, in the value format.
    counted = lines[2]["values"]
    assert counted["i"] == {"type": "inline", "format": "json", "data": 1, "refs": []}
    assert counted["parity"]["data"] == "odd"
    assert lines[7]["values"]["what"]["data"] == {"type": "dict", "items": ["a", [1, 2]]}
    assert lines[9]["values"]["code"]["data"] == 7
    timestamps = [line["timestamp"] for line in lines[1:-1]]
    assert timestamps == sorted(timestamps)


def test_text_output_renders_templates_with_values_alongside(server, telemetry_worker):
    run_id = server.submit(FLOWS, "chatter", 2)
    finished(server, run_id)

    process = cli(server, "logs", run_id)

    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert len(lines) == 9
    first = lines[0].split()
    assert first[0].startswith("+") and first[0].endswith("s")
    assert first[1:] == ["info", "1:1", "starting", "with", "2"]
    assert lines[2].split()[1:] == ["info", "2:1", "counted", "1", "of", "2", "parity='odd'"]
    assert lines[5].split()[1:] == ["debug", "2:1", "debugging", "{'a':", "[1,", "2]}"]
    assert lines[7].split()[1:] == ["error", "2:1", "code=7"]


def test_logs_of_one_execution_leave_out_the_others(server, telemetry_worker):
    run_id = server.submit(FLOWS, "chatter", 2)
    finished(server, run_id)

    for args in ([run_id, f"{run_id}:2:1"], [f"{run_id}:2:1"]):
        code, output = cli_json(server, "logs", *args, "-o", "json")
        assert code == 0
        assert {line["executionId"] for line in output["logs"]} == {f"{run_id}:2:1"}
        assert len(output["logs"]) == 7

    code, output = cli_json(server, "logs", run_id, f"{run_id}:1:1", "-o", "json")
    assert [line["template"] for line in output["logs"]] == ["starting with {n}", "finished"]


def test_from_leaves_out_earlier_lines(server, telemetry_worker):
    run_id = server.submit(FLOWS, "chatter", 3)
    finished(server, run_id)
    everything = logs(server, run_id)["logs"]
    middle = everything[3]["timestamp"]

    code, output = cli_json(server, "logs", run_id, "--from", str(middle), "-o", "json")

    assert code == 0
    assert output["logs"] and all(line["timestamp"] >= middle for line in output["logs"])
    assert len(output["logs"]) < len(everything)


def test_follow_streams_a_running_executions_logs_and_ends_with_the_run(server, telemetry_worker):
    run_id = server.submit(FLOWS, "slow_talk", 8, 0.4)
    follower = subprocess.Popen(
        [sys.executable, "-m", "coflux", "logs", run_id, "--follow"],
        cwd=ROOT,
        env=cli_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    arrivals: list[tuple[float, str]] = []

    def read() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            arrivals.append((time.monotonic(), line))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        follower.wait(60)
    finally:
        if follower.poll() is None:
            follower.kill()
    reader.join(10)
    ended = time.monotonic()

    assert follower.returncode == 0, follower.stderr.read() if follower.stderr else ""
    assert [line.split()[-2:] for _, line in arrivals] == [["line", str(n)] for n in range(8)]
    # Streamed while the execution ran (8 lines, 0.4 s apart), not all at the end.
    assert ended - arrivals[0][0] > 1.5
    assert server.result(run_id, wait=0)["status"] == "succeeded"


def test_follow_in_json_prints_a_page_per_line(server, telemetry_worker):
    run_id = server.submit(FLOWS, "slow_talk", 3, 0.3)

    process = cli(server, "logs", run_id, "-f", "-o", "json")

    assert process.returncode == 0, process.stderr
    pages = [json.loads(line) for line in process.stdout.splitlines()]
    templates = [line["template"] for page in pages for line in page["logs"]]
    assert templates == ["line 0", "line 1", "line 2"]
    assert pages[-1]["cursor"] == logs(server, run_id)["cursor"]


def test_metrics_recorded_by_a_task_are_readable_from_the_api(server, telemetry_worker):
    run_id = server.submit(FLOWS, "learn", 10_000)
    finished(server, run_id)

    response = server.api("GET", f"/runs/{run_id}/metrics")

    assert response.status_code == 200
    [execution] = response.json()["executions"]
    assert execution["executionId"] == f"{run_id}:2:1"
    definitions = {d["key"]: d for d in execution["definitions"]}
    assert definitions["loss"] == {
        "key": "loss",
        "group": {"name": "training", "units": "epoch", "lower": None, "upper": None},
        "scale": {"name": "error", "units": None, "progress": False, "lower": None, "upper": None},
        "throttle": 10,
    }
    assert definitions["batches"]["scale"]["progress"] is True
    assert definitions["batches"]["scale"]["upper"] == 5
    points = execution["points"]
    # Recorded 10,000 times in a loop; throttled to a few points, ending on the last value.
    assert 1 <= len(points["loss"]) < 50
    assert points["loss"][0][1] == 1.0
    assert points["loss"][-1][1] == 1 / 10_000
    ats = [at for at, _ in points["loss"]]
    assert ats == sorted(ats) and ats[0] >= 0
    assert points["batches"][-1][1] == 5
    assert points["accuracy"] == [[3, 0.9]]


def test_text_too_long_for_a_message_is_cut_and_the_run_still_ends(server, telemetry_worker):
    run_id = server.submit(FLOWS, "rambles", 20_000_000)  # more than a frame may hold

    result = server.result(run_id)

    assert result["status"] == "failed", result
    assert result["result"]["error"]["type"] == "builtins.ValueError"
    assert result["result"]["error"]["message"].endswith("(19934464 more characters)")
    printed, logged = [entry["template"] for entry in logs(server, run_id)["logs"]]
    assert printed.startswith("a") and printed.endswith("… (19983616 more characters)")
    assert logged.startswith("c") and logged.endswith("… (19983616 more characters)")
