"""Routing (SPEC §3.2, §3.14): requires, provides and accepts; paused workspaces; idempotent
submissions.

Three workers host the routed targets: one plain, one providing ``gpu:a100``, one accepting
``tier:batch``. Targets return their process's ancestors, which tell the worker that ran them.
Where assignment among eligible workers is random, calls are repeated so that a wrong routing
would show with near certainty.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from coflux._blobs import Blobs, HttpStore
from coflux._serialization import deserialize
from tests.processes import SUPER_TOKEN, Worker, cli, cli_json

pytestmark = pytest.mark.e2e

ROUTED = "tests.e2e.flows.routed"
CPU_ONLY = "tests.e2e.flows.cpu_only"
CALLS = 8


def start(server, *options, modules=(ROUTED,)):
    """A worker started with extra ``coflux worker`` options.

    ``Worker`` hands its modules to ``coflux worker`` as they are, and click takes options among
    the arguments, so the options go in ahead of the modules.
    """
    return Worker(server, *options, *modules, concurrency=16, register=False)


@pytest.fixture(scope="module")
def workers(server):
    cli(server, "manifests", "register", ROUTED, check=True)
    started = SimpleNamespace(
        plain=start(server, modules=(ROUTED, CPU_ONLY)),
        gpu=start(server, "--provides", "gpu:a100"),
        batch=start(server, "--accepts", "tier:batch"),
    )
    yield started
    for worker in vars(started).values():
        worker.kill()


def value_of(result, server=None):
    """The run's value; larger ones are blobs, read from the server's blob store."""
    assert result["status"] == "succeeded", result
    if server is None:
        return result["result"]["value"]["data"]
    return deserialize(
        result["result"]["value"], blobs=Blobs([HttpStore(server.url, token=SUPER_TOKEN)])
    )


def run_value(server, target, *arguments, workspace="default"):
    run_id = server.submit(ROUTED, target, *arguments, workspace=workspace)
    return value_of(server.result(run_id, wait=20), server)


def ran_on(workers, ancestries):
    """The names of the workers whose processes the given ancestries descend from."""
    names = {worker.process.pid: name for name, worker in vars(workers).items()}
    return [next(names[pid] for pid in ancestry if pid in names) for ancestry in ancestries]


def test_a_task_requiring_a_gpu_runs_only_on_the_worker_providing_it(server, workers):
    assert ran_on(workers, run_value(server, "fan_out", "on_gpu", CALLS)) == ["gpu"] * CALLS


def test_a_worker_accepting_a_tag_runs_the_work_requiring_it(server, workers):
    assert ran_on(workers, run_value(server, "fan_out", "batch_job", 4)) == ["batch"] * 4


def test_a_worker_accepting_a_tag_takes_no_other_work(server, workers):
    run_value(server, "fan_out", "batch_job", 1)  # the accepting worker is connected
    assert "batch" not in ran_on(workers, run_value(server, "fan_out", "where", CALLS))


def test_a_workflows_requires_apply_to_its_child_tasks(server, workers):
    assert ran_on(workers, run_value(server, "gpu_workflow", CALLS)) == ["gpu"] * (CALLS + 1)


def test_an_empty_requirement_unsets_an_inherited_one(server, workers):
    # Only the plain worker hosts cpu_only: the call can run only if the gpu requirement is gone.
    assert ran_on(workers, run_value(server, "gpu_workflow_with_cpu_child")) == ["gpu", "plain"]


def test_submit_requires_option_applies_to_the_whole_run(server, workers):
    code, output = cli_json(
        server, "submit", "--requires", "gpu:a100", "--output", "json", f"{ROUTED}/where_workflow"
    )
    assert code == 0, output
    assert ran_on(workers, output["value"]) == ["gpu", "gpu"]


def test_submitting_again_with_an_idempotency_key_returns_the_same_run(server, workers):
    def submit():
        code, output = cli_json(
            server,
            "submit",
            "--idempotency-key",
            "nightly-1",
            "--no-wait",
            "--output",
            "json",
            f"{ROUTED}/where_workflow",
        )
        assert code == 0, output
        return output["runId"]

    first = submit()
    assert submit() == first
    value_of(server.result(first, wait=20))


def test_a_paused_workspace_dispatches_nothing_until_resumed(server, start_worker):
    start_worker(server, ROUTED, workspace="pausable")
    run_value(server, "where_workflow", workspace="pausable")  # its worker is connected
    cli(server, "workspaces", "pause", "-w", "pausable", check=True)
    run_id = server.submit(ROUTED, "where_workflow", workspace="pausable")
    time.sleep(1)  # time enough to dispatch, were the workspace active
    run = server.run(run_id)
    assert run["status"] == "queued"
    assert [e["state"] for e in run["steps"][0]["executions"]] == ["queued"]
    cli(server, "workspaces", "resume", "-w", "pausable", check=True)
    assert server.result(run_id, wait=20)["status"] == "succeeded"
