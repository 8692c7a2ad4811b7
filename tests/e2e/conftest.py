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
def worker(request, server):
    """A worker shared by a test module's tests: it hosts the module's ``WORKER_MODULES``
    (default ``MODULES``) with ``WORKER_CONCURRENCY`` slots (default 4)."""
    modules = getattr(request.module, "WORKER_MODULES", MODULES)
    concurrency = getattr(request.module, "WORKER_CONCURRENCY", 4)
    worker = Worker(server, *modules, concurrency=concurrency)
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
