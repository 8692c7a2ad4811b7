"""Targets called outside an execution run locally (SPEC §2.5)."""

from __future__ import annotations

import asyncio

import pytest

import coflux as cf


@cf.task()
def add(a: int, b: int = 10) -> int:
    return a + b


@cf.task()
async def add_later(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@cf.workflow()
def total(values: list[int]) -> int:
    handles = [add.submit(value, 1) for value in values]
    with cf.group("adds"):
        cf.log_info("adding {count} values", count=len(values))
        return sum(handle.result() for handle in handles)


@cf.task()
def broken(message: str) -> None:
    raise KeyError(message)


@cf.stub("somewhere.else")
def remote(x: int) -> int:
    return -x


def test_calling_a_target_runs_its_function():
    assert add(1, 2) == 3
    assert add(1) == 11


def test_an_async_target_is_run_to_completion():
    assert add_later(1, 2) == 3
    assert add_later.submit(2, 3).result() == 5


def test_an_async_target_called_from_async_code_runs_too():
    async def caller() -> int:
        return add_later(4, 5)

    assert asyncio.run(caller()) == 9


def test_submit_returns_a_resolved_handle():
    handle = add.submit(2, 3)
    assert isinstance(handle, cf.Execution)
    assert handle.result() == 5
    assert handle.poll() == 5
    assert (handle.module, handle.target) == (__name__, "add")
    assert handle.id


def test_a_workflow_calls_tasks_locally_and_logging_and_groups_do_nothing():
    assert total([1, 2, 3]) == 9


def test_errors_propagate_unchanged():
    with pytest.raises(KeyError):
        broken("x")
    handle = broken.submit("y")
    with pytest.raises(KeyError):
        handle.result()
    with pytest.raises(KeyError):
        handle.poll()


def test_keyword_arguments_are_refused():
    with pytest.raises(ValueError, match="keyword arguments"):
        add(a=1, b=2)
    with pytest.raises(ValueError, match="keyword arguments"):
        add.submit(1, b=2)


def test_too_many_arguments_are_refused():
    with pytest.raises(TypeError):
        add(1, 2, 3)


def test_a_stub_body_is_the_local_fallback():
    assert remote(4) == -4


def test_log_functions_do_nothing():
    for log in (cf.log_debug, cf.log_info, cf.log_warning, cf.log_error):
        log("message {x}", x=object())
        log()


def test_select_returns_the_first_handle_and_the_rest():
    handles = [add.submit(1, 1), add.submit(2, 2), add.submit(3, 3)]

    winner, remaining = cf.select(handles, cancel_remaining=True)

    assert winner is handles[0]
    assert remaining == handles[1:]
    assert winner.result() == 2


def test_select_needs_a_handle():
    with pytest.raises(ValueError, match="at least one"):
        cf.select([])


def test_cancelling_resolved_handles_does_nothing():
    handle = add.submit(1, 2)
    handle.cancel()
    cf.cancel([handle, add.submit(3, 4)])
    assert handle.result() == 3


def test_suspense_does_nothing():
    with cf.suspense(), cf.suspense(5):
        assert add.submit(1, 2).result() == 3


def test_suspend_needs_an_execution():
    with pytest.raises(RuntimeError, match="Not in an execution context"):
        cf.suspend()
    with pytest.raises(RuntimeError, match="Not in an execution context"):
        cf.suspend(10)


def test_handles_on_remote_executions_need_an_execution():
    handle = cf.Execution.reference("R1:1:1", "mod", "target")
    for call in (handle.cancel, lambda: cf.cancel([handle]), lambda: cf.select([handle])):
        with pytest.raises(RuntimeError, match="Not in an execution context"):
            call()
