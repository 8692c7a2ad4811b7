from __future__ import annotations

import pytest

from tests.processes import Server, Worker

MODULES = ("tests.e2e.flows.app", "tests.e2e.flows.doubler")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("server")).start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def worker(server):
    worker = Worker(server, *MODULES)
    yield worker
    worker.kill()


@pytest.fixture
def start_worker():
    """Start workers for a test; whatever the test's outcome, they are killed afterwards."""
    started: list[Worker] = []

    def start(server: Server, *modules: str, **options) -> Worker:
        worker = Worker(server, *(modules or MODULES), **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def fresh_server(tmp_path):
    server = Server(tmp_path / "server").start()
    yield server
    server.close()
