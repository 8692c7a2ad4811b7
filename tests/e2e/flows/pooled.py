"""Targets the pool tests run on workers that pools launch."""

from __future__ import annotations

import os
import time
from pathlib import Path

import coflux as cf


@cf.task()
def environment(name: str) -> str | None:
    return os.environ.get(name)


@cf.workflow()
def env_of(name: str) -> str | None:
    """A child task on the launched worker reads its environment."""
    return environment(name)


@cf.task(requires={"gpu": "A100"})
def on_gpu() -> str:
    return "ran on a gpu worker"


@cf.workflow()
def needs_gpu() -> str:
    return on_gpu()


@cf.task(retries=1)
def held(marker: str) -> str:
    """The first attempt marks that it started and waits to be killed; a retry returns."""
    if Path(marker).exists():
        return "again"
    Path(marker).touch()
    time.sleep(120)
    return "never"


@cf.workflow(retries=1)
def holding(marker: str) -> str:
    return held(marker)
