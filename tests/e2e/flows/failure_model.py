"""Workflows for the end-to-end tests of what survives faults: live logs, blocked slots,
clients and workers riding out a restart of the server."""

from __future__ import annotations

import time

import coflux as cf

from .marks import count, mark


@cf.workflow()
def slow_logger(directory: str, lines: int, pause: float) -> int:
    """Prints ``lines`` lines ``pause`` seconds apart, marking each just before printing it."""
    for i in range(lines):
        mark(directory, f"line-{i}")
        print(f"line {i}")
        time.sleep(pause)
    return lines


@cf.workflow()
def waits_for_go(directory: str) -> str:
    """Runs until the test leaves a ``go`` mark."""
    mark(directory, "started")
    print("waiting for go")
    while not count(directory, "go"):
        time.sleep(0.05)
    return "done"


@cf.task()
def child(x: int) -> int:
    time.sleep(0.1)
    return x * 2


@cf.workflow()
def parent(x: int) -> int:
    """Blocks on its child: with a slot held while blocked, enough of these starve it."""
    return child(x) + 1


@cf.workflow()
def grandparent(x: int) -> int:
    """Blocks on a workflow that blocks on a task: three levels, each waiting on the next."""
    return parent(x) + parent.submit(x + 1).result()
