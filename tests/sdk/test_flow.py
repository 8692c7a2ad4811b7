"""``select``, ``cancel``, ``poll``, ``suspense`` and ``suspend`` in executor processes.

This test plays the worker's part: it answers waits with ``pending`` and ``resolved``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from coflux._zygote import Zygote
from tests.sdk.support import Executor, executors, importable_module, resolved, started_zygote

FLOWS = """
import asyncio
import datetime as dt

import coflux as cf


@cf.task()
def child(x):
    return x


def children(n):
    return [child.submit(i) for i in range(n)]


@cf.workflow()
def selects(n, cancel_remaining):
    handles = children(n)
    winner, remaining = cf.select(handles, cancel_remaining=cancel_remaining)
    return [winner.id, winner.result(), [handle.id for handle in remaining]]


@cf.workflow()
def selects_in_suspense(n):
    handles = children(n)
    with cf.suspense():
        cf.select(handles)
    return "not suspended"


@cf.workflow()
def cancels():
    first, second, third = children(3)
    second.cancel()
    cf.cancel([first, third])
    cf.cancel([])
    return "sent"


@cf.workflow()
def polls(timeout):
    handle = child.submit(1)
    return [handle.poll(timeout, default="none yet"), handle.poll(timeout, default="none yet")]


@cf.workflow()
def waits_in_suspense(timeout):
    handle = child.submit(1)
    try:
        with cf.suspense(timeout):
            return handle.result()
    except Exception:
        return "caught"


@cf.workflow()
def swallows_suspension():
    handle = child.submit(1)
    try:
        with cf.suspense():
            handle.result()
    except BaseException:
        pass
    return "carried on"


@cf.workflow()
def nested_suspense():
    first, second = children(2)
    with cf.suspense():
        with cf.suspense(30):
            value = first.result()
        second.result()
    return value


@cf.workflow()
def suspends(kind, value):
    if kind == "seconds":
        cf.suspend(value)
    elif kind == "timedelta":
        cf.suspend(dt.timedelta(seconds=value))
    elif kind == "aware":
        cf.suspend(dt.datetime.fromtimestamp(value, dt.timezone.utc))
    elif kind == "naive":
        cf.suspend(dt.datetime.fromtimestamp(value))
    else:
        cf.suspend()


@cf.workflow()
async def suspends_async():
    await asyncio.sleep(0)
    cf.suspend(None)


@cf.workflow()
def groups():
    with cf.group("batch"):
        child.submit(1)
    child.submit(2)
"""


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from importable_module(tmp_path_factory, "flow_flows", FLOWS)


@pytest.fixture(scope="module")
def zygote(flows: str) -> Iterator[Zygote]:
    yield from started_zygote(flows)


@pytest.fixture
def start(zygote: Zygote, flows: str) -> Iterator[Callable[[], Executor]]:
    yield from executors(zygote, flows)


def submitted(process: Executor, count: int, early: dict[str, Any] | None = None) -> list[str]:
    """Answer the execution's first ``count`` submits; the children are ``R1:<n+1>:1``.

    The results in ``early`` are pushed before any answer, so the execution has them by the
    time it reads the children's IDs.
    """
    ids = []
    for n in range(1, count + 1):
        assert process.next("submit")["ref"] == str(n)
        if n == 1:
            for target, value in (early or {}).items():
                process.send(resolved(value, target=target))
        ids.append(f"R1:{n + 1}:1")
        process.send({"type": "submitted", "ref": str(n), "execution": ids[-1], "step": "x"})
    return ids


def pending(*targets: str) -> dict[str, Any]:
    return {"type": "pending", "execution": "R1:1:1", "targets": list(targets)}


def wait(targets: list[str], reply: bool) -> dict[str, Any]:
    return {"type": "wait", "execution": "R1:1:1", "targets": targets, "reply": reply}


# --- select --------------------------------------------------------------------------------


def test_select_picks_the_earliest_listed_of_those_already_resolved(start):
    process = start()
    process.execute("selects", 3, False)
    a, b, c = submitted(process, 3, early={"R1:4:1": "c", "R1:3:1": "b"})

    # Results already known are read without asking: the wait only records dependencies.
    assert process.next("wait") == wait([a, b, c], reply=False)
    assert process.next("wait") == wait([b], reply=False)  # winner.result()
    assert process.value() == [b, "b", [a, c]]


def test_select_waits_once_for_all_and_the_first_to_resolve_wins(start):
    process = start()
    process.execute("selects", 3, False)
    a, b, c = submitted(process, 3)

    assert process.next("wait") == wait([a, b, c], reply=True)
    process.send(pending(a, b, c))
    process.send(resolved("c", target=c))
    process.send(resolved("a", target=a))
    assert process.next("wait") == wait([c], reply=False)
    assert process.value() == [c, "c", [a, b]]


def test_select_can_cancel_the_others_in_one_request(start):
    process = start()
    process.execute("selects", 4, True)
    a, b, c, d = submitted(process, 4)

    process.next("wait")
    process.send(resolved("b", target=b))
    cancel = {"type": "cancel", "execution": "R1:1:1", "targets": [a, c, d]}
    assert process.next("cancel") == cancel
    process.next("wait")
    assert process.value() == [b, "b", [a, c, d]]


def test_select_in_suspense_suspends_on_all_the_handles(start):
    process = start()
    process.execute("selects_in_suspense", 2)
    a, b = submitted(process, 2)

    assert process.next("wait") == wait([a, b], reply=True)
    process.send(pending(a, b))
    assert process.result() == {"type": "suspended", "after": None, "dependencies": [a, b]}


# --- cancel --------------------------------------------------------------------------------


def test_cancel_sends_the_ids_and_does_not_wait(start):
    process = start()
    process.execute("cancels")
    a, b, c = submitted(process, 3)

    assert process.next("cancel") == {"type": "cancel", "execution": "R1:1:1", "targets": [b]}
    assert process.next("cancel")["targets"] == [a, c]
    assert process.value() == "sent"


# --- poll ----------------------------------------------------------------------------------


def test_poll_asks_and_returns_the_default_once_told_there_is_no_result(start):
    process = start()
    process.execute("polls", None)
    (a,) = submitted(process, 1)

    assert process.next("wait") == wait([a], reply=True)
    process.send(pending(a))
    assert process.next("wait") == wait([a], reply=True)
    process.send(resolved(1, target=a))
    assert process.value() == ["none yet", 1]


def test_poll_with_a_timeout_waits_for_the_result_after_the_answer(start):
    process = start()
    process.execute("polls", 30)
    (a,) = submitted(process, 1)

    process.next("wait")
    process.send(pending(a))
    time.sleep(0.2)
    process.send(resolved(1, target=a))
    # Known now: the second poll only records the dependency.
    assert process.next("wait") == wait([a], reply=False)
    assert process.value() == [1, 1]


# --- suspense ------------------------------------------------------------------------------


def test_a_wait_in_suspense_suspends_once_told_there_is_no_result(start):
    process = start()
    process.execute("waits_in_suspense", None)
    (a,) = submitted(process, 1)

    assert process.next("wait") == wait([a], reply=True)
    process.send(pending(a))
    # ``except Exception`` in the workflow does not stop the suspension.
    assert process.result() == {"type": "suspended", "after": None, "dependencies": [a]}


def test_a_wait_in_suspense_gets_a_result_that_arrives_in_time(start):
    process = start()
    process.execute("waits_in_suspense", 30)
    (a,) = submitted(process, 1)

    process.next("wait")
    process.send(pending(a))
    time.sleep(0.2)
    process.send(resolved(7, target=a))
    assert process.value() == 7


def test_a_wait_in_suspense_suspends_when_its_timeout_runs_out(start):
    process = start()
    process.execute("waits_in_suspense", 0.3)
    (a,) = submitted(process, 1)

    process.next("wait")
    began = time.monotonic()
    process.send(pending(a))
    assert process.result()["dependencies"] == [a]
    assert time.monotonic() - began >= 0.2


def test_a_suspension_stands_even_if_the_code_swallows_it(start):
    process = start()
    process.execute("swallows_suspension")
    (a,) = submitted(process, 1)

    process.next("wait")
    process.send(pending(a))
    assert process.result() == {"type": "suspended", "after": None, "dependencies": [a]}


def test_leaving_a_nested_suspense_restores_the_outer_timeout(start):
    process = start()
    process.execute("nested_suspense")
    a, b = submitted(process, 2)

    process.next("wait")
    process.send(pending(a))
    process.send(resolved(1, target=a))
    assert process.next("wait") == wait([b], reply=True)
    process.send(pending(b))
    assert process.result()["dependencies"] == [b]


def test_children_resolved_meanwhile_are_read_without_suspending(start):
    process = start()
    process.execute("waits_in_suspense", None)
    (a,) = submitted(process, 1, early={"R1:2:1": 3})

    assert process.next("wait") == wait([a], reply=False)
    assert process.value() == 3


# --- suspend -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["seconds", "timedelta"])
def test_suspend_for_a_delay_resumes_after_it(start, kind):
    process = start()
    before = time.time() * 1000
    process.execute("suspends", kind, 60)

    result = process.result()
    after = time.time() * 1000
    assert (result["type"], result["dependencies"]) == ("suspended", [])
    assert before + 60_000 <= result["after"] <= after + 60_000 + 1


@pytest.mark.parametrize("kind", ["aware", "naive"])
def test_suspend_until_a_datetime_resumes_then(start, kind):
    process = start()
    at = dt.datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC).timestamp()
    process.execute("suspends", kind, at)

    assert process.result() == {"type": "suspended", "after": round(at * 1000), "dependencies": []}


def test_suspend_without_a_delay_resumes_as_soon_as_possible(start):
    process = start()
    process.execute("suspends", "now", None)
    assert process.result() == {"type": "suspended", "after": None, "dependencies": []}


def test_an_async_target_suspends_too(start):
    process = start()
    process.execute("suspends_async")
    assert process.result() == {"type": "suspended", "after": None, "dependencies": []}


# --- groups --------------------------------------------------------------------------------


def test_calls_in_a_group_carry_its_name(start):
    process = start()
    process.execute("groups")

    grouped, ungrouped = process.next("submit"), process.next("submit")
    assert (grouped["group"], grouped["group_name"]) == (1, "batch")
    assert ungrouped["group"] is None and "group_name" not in ungrouped
