"""What happens when processes die: a worker killed mid-task, a server restarted mid-run."""

from __future__ import annotations

import signal
import time

import pytest

from tests.processes import wait_until

pytestmark = pytest.mark.e2e

APP = "tests.e2e.flows.app"


def test_a_worker_killed_mid_task_leaves_the_execution_abandoned(
    fresh_server, tmp_path, start_worker
):
    worker = start_worker(fresh_server)
    gate = tmp_path / "gate"
    run_id = fresh_server.submit(APP, "waits_for_file", str(gate))
    wait_until(lambda: (tmp_path / "gate.started").exists(), message="task started")
    worker.kill(signal.SIGKILL)
    result = fresh_server.result(run_id, wait=30)
    assert result["status"] == "abandoned", result
    steps = fresh_server.run(run_id)["steps"]
    assert [s["executions"][0]["state"] for s in steps] == ["abandoned", "abandoned"]


def test_a_server_restarted_mid_run_completes_the_run(fresh_server, tmp_path, start_worker):
    worker = start_worker(fresh_server)
    gate = tmp_path / "gate"
    run_id = fresh_server.submit(APP, "waits_for_file", str(gate))
    wait_until(lambda: (tmp_path / "gate.started").exists(), message="task started")
    fresh_server.stop()
    gate.write_text("opened")
    time.sleep(0.5)  # the task finishes while the server is down; its result is buffered
    # The worker's reconnect backoff may exceed the tests' short grace period: give it time.
    fresh_server.env["COFLUX_SESSION_GRACE"] = "30"
    fresh_server.start()
    result = fresh_server.result(run_id, wait=45)
    assert result["status"] == "succeeded", (result, worker.output())
    assert result["result"]["value"]["data"] == "opened"


def test_a_worker_sent_sigterm_finishes_its_work_then_exits(fresh_server, tmp_path, start_worker):
    worker = start_worker(fresh_server)
    gate = tmp_path / "gate"
    run_id = fresh_server.submit(APP, "waits_for_file", str(gate))
    wait_until(lambda: (tmp_path / "gate.started").exists(), message="task started")
    worker.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert worker.process.poll() is None, "the worker left before its execution finished"
    gate.write_text("drained")
    assert worker.process.wait(30) == 0, worker.output()
    result = fresh_server.result(run_id, wait=10)
    assert result["status"] == "succeeded", (result, worker.output())
