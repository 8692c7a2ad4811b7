"""What ``coflux worker`` says on a terminal: connecting, its session, retries, draining."""

from __future__ import annotations

import signal

import pytest

from tests.processes import Server, Worker, wait_until

pytestmark = pytest.mark.e2e

FLOWS = "tests.e2e.flows.failure_model"


def test_the_worker_says_what_it_retries_and_when_it_is_connected_and_draining(tmp_path):
    server = Server(tmp_path / "server")
    server.data_dir.mkdir(parents=True)
    worker = Worker(server, FLOWS, register=False)
    try:
        unreachable = f"cannot reach the server at ws://{server.host}/api/projects/default/worker"
        wait_until(lambda: unreachable in worker.output(), timeout=30, message=unreachable)
        assert "connecting again in" in worker.output()

        server.start()
        wait_until(lambda: "connected: session" in worker.output(), timeout=30, message="session")
        worker.kill(signal.SIGTERM)

        output = worker.output()
        assert worker.process.returncode == 0, output
        assert "hosting 5 targets from tests.e2e.flows.failure_model" in output
        assert "connected: session S" in output and "in workspace default" in output
        assert "draining: no new work" in output
        assert "drained: stopping" in output
    finally:
        worker.kill()
        server.close()
