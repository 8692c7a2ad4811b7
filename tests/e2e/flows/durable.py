"""Targets for the durable-execution tests: retries, timeouts, recurrence, re-runs, cancellation
and spawned runs.

Each target that has side effects takes a ``directory`` to count them in (see ``marks``).
"""

from __future__ import annotations

import time

import coflux as cf

from .marks import mark, wait_for_mark

ERRORS = {error.__name__: error for error in (ValueError, ConnectionError, RuntimeError)}


def _fail_first(directory: str, name: str, failures: int, error: str = "RuntimeError") -> int:
    """Raise on the first ``failures`` attempts, then return the attempt number."""
    attempt = mark(directory, name)
    if attempt <= failures:
        raise ERRORS[error](f"attempt {attempt}")
    return attempt


# --- retries ------------------------------------------------------------------------------


@cf.task(retries=2)
def flaky(directory: str, failures: int) -> int:
    return _fail_first(directory, "flaky", failures)


@cf.workflow()
def call_flaky(directory: str, failures: int) -> int | str:
    try:
        return flaky(directory, failures)
    except cf.ExecutionError as exc:
        return f"caught {exc.error_type}: {exc.error_message}"


@cf.task(retries=cf.Retries(3, backoff=(0.05, 0.1), when=ConnectionError))
def picky(directory: str, error: str) -> int:
    return _fail_first(directory, "picky", 2, error)


@cf.workflow()
def call_picky(directory: str, error: str) -> int | str:
    try:
        return picky(directory, error)
    except cf.ExecutionError as exc:
        return f"caught {exc.error_type}: {exc.error_message}"


def _transient(exc: BaseException) -> bool:
    return str(exc).startswith("transient")


@cf.task(retries=cf.Retries(2, backoff=0.05, when=_transient))
def judged(directory: str, kind: str) -> int:
    attempt = mark(directory, "judged")
    if attempt == 1:
        raise RuntimeError(f"{kind} failure")
    return attempt


@cf.workflow()
def call_judged(directory: str, kind: str) -> int | str:
    try:
        return judged(directory, kind)
    except cf.ExecutionError as exc:
        return f"caught {exc.error_type}: {exc.error_message}"


@cf.task()
def unreliable(directory: str, failures: int) -> int:
    return _fail_first(directory, "unreliable", failures)


@cf.workflow()
def call_unreliable_with_retries(directory: str, failures: int) -> int:
    return unreliable.with_retries(2)(directory, failures)


@cf.workflow()
def flaky_workflow(directory: str, failures: int) -> int:
    return _fail_first(directory, "flaky_workflow", failures)


@cf.stub("tests.e2e.flows.crashy", retries=1)
def crash_once(directory: str) -> int: ...


@cf.workflow()
def survives_a_crash(directory: str) -> int:
    return crash_once(directory)


# --- timeouts -----------------------------------------------------------------------------


@cf.task()
def long_nap(directory: str, name: str) -> str:
    """Sleep far longer than any test waits, unless cancelled."""
    mark(directory, f"{name}-started")
    time.sleep(30)
    mark(directory, f"{name}-finished")
    return name


@cf.task(timeout=1)
def outlives_its_timeout(directory: str) -> str:
    long_nap.submit(directory, "orphan")
    wait_for_mark(directory, "orphan-started")
    time.sleep(10)
    return "finished"


@cf.workflow()
def catches_a_timeout(directory: str) -> str:
    try:
        return outlives_its_timeout(directory)
    except cf.ExecutionTimeout:
        return "timed out"


@cf.task(timeout=1, retries=1)
def slow_then_fast(directory: str) -> int:
    attempt = mark(directory, "slow_then_fast")
    if attempt == 1:
        time.sleep(10)
    return attempt


@cf.workflow()
def call_slow_then_fast(directory: str) -> int:
    return slow_then_fast(directory)


@cf.workflow()
def naps_with_a_timeout(directory: str) -> str:
    try:
        return long_nap.with_timeout(0.5)(directory, "limited")
    except cf.ExecutionTimeout:
        return "timed out"


@cf.workflow(timeout=1)
def slow_workflow() -> str:
    time.sleep(10)
    return "finished"


# --- recurrence ---------------------------------------------------------------------------


@cf.task(recurrent=True)
def recurs(directory: str, times: int) -> int | None:
    attempt = mark(directory, "recurs")
    return None if attempt <= times else attempt


@cf.workflow()
def call_recurs(directory: str, times: int) -> int:
    return recurs(directory, times)


@cf.workflow(recurrent=True)
def recurring_workflow(directory: str, times: int) -> int | None:
    attempt = mark(directory, "recurring_workflow")
    return None if attempt <= times else attempt


@cf.workflow(recurrent=True)
def recurs_until_it_fails(directory: str) -> None:
    if mark(directory, "recurs_until_it_fails") > 1:
        raise ValueError("stopped")


# --- re-runs ------------------------------------------------------------------------------


@cf.task()
def count_calls(directory: str) -> int:
    return mark(directory, "count_calls")


@cf.workflow()
def counted(directory: str) -> int:
    return count_calls(directory)


# --- cancellation and spawned runs --------------------------------------------------------


@cf.workflow()
def cancels_its_child(directory: str) -> str:
    child = long_nap.submit(directory, "child")
    wait_for_mark(directory, "child-started")
    child.cancel()
    try:
        child.result()
    except cf.ExecutionCancelled:
        return "cancelled"
    return "not cancelled"


@cf.workflow()
def cancels_both(directory: str) -> list[str]:
    naps = [long_nap.submit(directory, "first"), long_nap.submit(directory, "second")]
    cf.cancel(naps)
    outcomes = []
    for nap in naps:
        try:
            outcomes.append(nap.result())
        except cf.ExecutionCancelled:
            outcomes.append("cancelled")
    return outcomes


@cf.task()
def branch(directory: str) -> str:
    return long_nap(directory, "leaf")


@cf.workflow()
def tree(directory: str) -> str:
    return branch(directory)


@cf.workflow()
def survives_a_cancelled_branch(directory: str) -> str:
    try:
        return branch(directory)
    except cf.ExecutionCancelled:
        return "branch cancelled"


@cf.workflow()
def doubled(x: int) -> int:
    return x * 2


@cf.task()
def calls_a_workflow(x: int) -> int:
    return doubled(x) + 1


@cf.workflow()
def spawns(x: int) -> int:
    return calls_a_workflow(x)


@cf.workflow()
def inner(directory: str) -> str:
    return long_nap(directory, "spawned")


@cf.task()
def calls_inner(directory: str) -> str:
    return inner(directory)


@cf.workflow()
def outer(directory: str) -> str:
    return calls_inner(directory)
