"""The bundled example: a greeting, and a small tree of tasks."""

from __future__ import annotations

import coflux as cf


@cf.task()
def greeting(name: str) -> str:
    print(f"building a greeting for {name}")
    return f"Hello, {name}!"


@cf.task()
def shout(text: str) -> str:
    return text.upper()


@cf.workflow()
def hello(name: str = "World") -> str:
    """Greet someone, loudly."""
    return shout(greeting(name))


@cf.task()
def square(n: int) -> int:
    return n * n


@cf.workflow()
def sum_of_squares(count: int = 10) -> int:
    """Square the numbers below ``count`` in parallel and add them up."""
    handles = [square.submit(n) for n in range(count)]
    return sum(h.result() for h in handles)
