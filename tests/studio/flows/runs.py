"""Workflows the run page's browser tests watch: held until the test lets them go, failing,
logging as they go, and carrying markup in their values."""

from __future__ import annotations

import time
from pathlib import Path

import coflux as cf


def _wait(path: str) -> str:
    while not Path(path).exists():
        time.sleep(0.05)
    return Path(path).read_text()


@cf.task()
def held(path: str) -> str:
    """Returns once the test has written ``path``."""
    return _wait(path)


@cf.workflow()
def gated(path: str) -> str:
    return held(path)


@cf.task()
def explode(message: str) -> None:
    raise ValueError(message)


@cf.workflow()
def exploding(message: str) -> None:
    explode(message)


@cf.task()
def shout(text: str) -> str:
    return text.upper()


@cf.workflow()
def shouting(text: str) -> str:
    return shout(text)


@cf.workflow()
def chatty(path: str) -> str:
    cf.log_info("first line {n}", n=1)
    _wait(path)
    cf.log_warning("second line {n}", n=2, extra="chip")
    return "done"


@cf.workflow()
def echo(value: str) -> str:
    """Logs and returns its argument: markup in a value must stay text everywhere."""
    cf.log_warning("got {value}", value=value, extra=[value])
    print(value)
    return shout(value) and value


@cf.workflow()
def big_value(count: int) -> list[str]:
    """Returns a value larger than the blob threshold: it travels through the blob store."""
    return [f"item <{index}>" for index in range(count)]
