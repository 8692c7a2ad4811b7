"""An execution blocked waiting for results does not keep the work it waits for from running.

It stops counting against its worker's concurrency while it waits; ``--max-processes`` bounds
the executions at once, blocked or not.
"""

from __future__ import annotations

import threading

import pytest

from tests.e2e.support import value_of

pytestmark = pytest.mark.e2e

FLOWS = "tests.e2e.flows.failure_model"


def test_workflows_waiting_on_children_do_not_starve_them(server, start_worker):
    start_worker(server, FLOWS, workspace="narrow", concurrency=2)

    runs = [server.submit(FLOWS, "parent", n, workspace="narrow") for n in range(4)]

    assert [value_of(server.result(run_id, wait=60)) for run_id in runs] == [1, 3, 5, 7]


@pytest.mark.timeout(300)
def test_many_clients_against_a_small_worker_do_not_stall_it(server, start_worker):
    """Twenty clients each run workflows three levels deep, one after another: more blocked
    executions than the worker's concurrency, and than its processes if all were let in."""
    start_worker(server, FLOWS, workspace="busy", concurrency=8)
    outcomes: dict[int, object] = {}

    def client(number: int) -> None:
        for round_ in range(2):
            x = number * 10 + round_
            run_id = server.submit(FLOWS, "grandparent", x, workspace="busy")
            result = server.result(run_id, wait=60)
            succeeded = result["status"] == "succeeded"
            outcomes[x] = result["result"]["value"]["data"] if succeeded else result["status"]

    clients = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(20)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(240)

    expected = {n * 10 + r: 4 * (n * 10 + r) + 4 for n in range(20) for r in range(2)}
    assert outcomes == expected
