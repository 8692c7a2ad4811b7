"""Targets for the routing tests. Each returns the IDs of its process's ancestors, among which
is the worker that ran it, so the test can tell which worker that was."""

from __future__ import annotations

import os
from pathlib import Path

import coflux as cf


def ancestors() -> list[int]:
    found, pid = [], os.getpid()
    while pid > 1:
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the parent's ID follows the state
        found.append(pid)
    return found


@cf.task()
def where() -> list[int]:
    return ancestors()


@cf.task(requires={"gpu": "a100"})
def on_gpu() -> list[int]:
    return ancestors()


@cf.task(requires={"tier": "batch"})
def batch_job() -> list[int]:
    return ancestors()


@cf.workflow()
def fan_out(target: str, count: int) -> list[list[int]]:
    task = {"where": where, "on_gpu": on_gpu, "batch_job": batch_job}[target]
    return [handle.result() for handle in [task.submit() for _ in range(count)]]


@cf.workflow()
def where_workflow() -> list[list[int]]:
    """Where the workflow and a plain child of it ran."""
    return [ancestors(), where()]


@cf.workflow(requires={"gpu": "a100"})
def gpu_workflow(count: int) -> list[list[int]]:
    """Where the workflow and plain children of it ran."""
    return [ancestors(), *[handle.result() for handle in [where.submit() for _ in range(count)]]]


@cf.stub("tests.e2e.flows.cpu_only")
def cpu_where() -> list[int]: ...


@cf.workflow(requires={"gpu": "a100"})
def gpu_workflow_with_cpu_child() -> list[list[int]]:
    return [ancestors(), cpu_where.with_requires({"gpu": []})()]
