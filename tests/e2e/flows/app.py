"""Workflows the end-to-end tests run on real workers."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import coflux as cf

from . import remote


@cf.task()
def greet(name: str) -> str:
    print(f"greeting {name}")
    return f"Hello, {name}"


@cf.workflow()
def hello(name: str) -> str:
    return greet(name)


@cf.task()
def leaf(x: int) -> int:
    return x + 1


@cf.task()
def middle(x: int) -> int:
    return leaf(x) * 10


@cf.task()
def upper(x: int) -> int:
    return middle(x) + 5


@cf.workflow()
def nested(x: int) -> int:
    return upper(x)


@cf.task()
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@cf.workflow()
def parallel_naps(seconds: float) -> float:
    first, second = nap.submit(seconds), nap.submit(seconds)
    return first.result() + second.result()


@cf.task()
def fail(message: str) -> None:
    raise ValueError(message)


@cf.workflow()
def failing(message: str) -> None:
    fail(message)


@cf.workflow()
def catching(message: str) -> str:
    try:
        fail(message)
    except ValueError as exc:
        return f"caught {type(exc).__name__}: {exc}"
    return "not raised"


@cf.workflow()
def via_stub(x: int) -> int:
    return remote.double(x)


@cf.task()
async def async_inc(x: int) -> int:
    await asyncio.sleep(0.01)
    return x + 1


@cf.workflow()
async def async_flow(x: int) -> int:
    return async_inc(x)


@cf.task()
def make_handle(x: int) -> cf.Execution[int]:
    return leaf.submit(x)


@cf.task()
def read_handle(handle: cf.Execution[int]) -> int:
    return handle.result() * 2


@cf.workflow()
def pass_handles(x: int) -> int:
    handle = make_handle(x)
    return read_handle(handle)


@cf.task()
def wait_for_file(path: str) -> str:
    """Block until the test creates ``path``; ``path.started`` says it began."""
    Path(path + ".started").write_text(str(os.getpid()))
    while not Path(path).exists():
        time.sleep(0.05)
    return Path(path).read_text()


@cf.workflow()
def waits_for_file(path: str) -> str:
    return wait_for_file(path)


@cf.task(name="renamed_task")
def original_name() -> str:
    return "found by its registered name"


@cf.workflow()
def calls_renamed() -> str:
    return original_name()
