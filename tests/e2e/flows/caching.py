"""Targets for the caching, memoisation and workspace tests (tests/e2e/test_caching.py).

Each target takes the ``directory`` its test counts executions in (see ``marks``); being an
argument, it also keeps one test's cache keys apart from another's.
"""

from __future__ import annotations

import coflux as cf

from .marks import mark, wait_for_mark

# --- cache ----------------------------------------------------------------------------------


@cf.task(cache=True)
def fib(directory: str, n: int) -> int:
    mark(directory, f"fib{n}")
    if n < 2:
        return n
    return fib(directory, n - 1) + fib(directory, n - 2)


@cf.workflow()
def fibonacci(directory: str, n: int) -> int:
    return fib(directory, n)


@cf.task(cache=cf.Cache(max_age=3))
def expiring(directory: str) -> int:
    return mark(directory, "expiring")


@cf.workflow()
def call_expiring(directory: str) -> int:
    return expiring(directory)


@cf.task(cache=cf.Cache(params=["directory", "x"]))
def ignoring_note(directory: str, x: int, note: str) -> str:
    mark(directory, "ignoring_note")
    return f"{x}:{note}"


@cf.workflow()
def call_ignoring_note(directory: str, x: int, note: str) -> str:
    return ignoring_note(directory, x, note)


@cf.task(cache=True)
def versioned(directory: str) -> int:
    return mark(directory, "versioned")


@cf.workflow()
def call_versioned(directory: str, version: str) -> int:
    return versioned.with_cache(cf.Cache(version=version))(directory)


@cf.task(cache=cf.Cache(namespace="tests.lookup"))
def lookup_a(directory: str, key: str) -> str:
    mark(directory, "lookup_a")
    return f"a:{key}"


@cf.task(cache=cf.Cache(namespace="tests.lookup"))
def lookup_b(directory: str, key: str) -> str:
    mark(directory, "lookup_b")
    return f"b:{key}"


@cf.workflow()
def call_lookups(directory: str, key: str) -> list[str]:
    return [lookup_a(directory, key), lookup_b(directory, key)]


@cf.task(cache=True)
def expensive(directory: str, x: str) -> str:
    return f"{x}#{mark(directory, f'expensive-{x}')}"


@cf.workflow()
def compute(directory: str, xs: list[str]) -> list[str]:
    """Compute each of ``xs`` (cached), one after the other."""
    return [expensive(directory, x) for x in xs]


@cf.task(cache=True)
def stamp(directory: str, key: str) -> int:
    return mark(directory, f"stamp-{key}")


@cf.workflow()
def call_stamp(directory: str, key: str) -> int:
    return stamp(directory, key)


# --- memo -----------------------------------------------------------------------------------


@cf.task(memo=True)
def extract(directory: str, source: str) -> list[int]:
    mark(directory, "extract")
    return [len(source), 2, 3]


@cf.task(memo=True)
def transform(directory: str, rows: list[int]) -> list[int]:
    mark(directory, "transform")
    return [row * 10 for row in rows]


@cf.task()
def load(directory: str, rows: list[int]) -> list[int]:
    """The rows' total, and how many times ``load`` has run."""
    return [sum(rows), mark(directory, "load")]


@cf.workflow()
def pipeline(directory: str, source: str) -> list[int]:
    """Extract and transform (both memoised), then load: the step one would debug."""
    rows = extract(directory, source)
    return load(directory, transform(directory, rows))


@cf.task(memo=True)
def memo_stamp(directory: str) -> int:
    return mark(directory, "memo_stamp")


@cf.workflow()
def stamp_twice(directory: str) -> list[int]:
    """Call ``memo_stamp`` twice, the second time once the test has made a ``go`` mark."""
    first = memo_stamp(directory)
    wait_for_mark(directory, "go", timeout=60)
    return [first, memo_stamp(directory)]


# --- pausing and archiving ------------------------------------------------------------------


@cf.workflow()
def gate(directory: str) -> str:
    """Say it has started, then wait for the test's ``go`` mark."""
    mark(directory, "gate")
    wait_for_mark(directory, "go", timeout=60)
    return "through"
