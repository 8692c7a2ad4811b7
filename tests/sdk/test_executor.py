"""Executor processes, forked by a real zygote, run end to end through their pipe.

This test plays the worker's part.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from coflux import Execution
from coflux._serialization import deserialize
from coflux._zygote import Zygote
from tests.sdk.support import REPLY_TIMEOUT, Executor, executors, importable_module, resolved

FLOWS = """
import asyncio
import os
import sys

import coflux as cf


@cf.task(name="double")
def double_impl(x: int) -> int:
    print("doubling", x)
    print("", file=sys.stderr)
    print("partial", end="", file=sys.stderr)
    cf.log_warning("doubled {x}", x=x, extra={1: "one"})
    return x * 2


@cf.workflow()
async def later(x):
    await asyncio.sleep(0)
    return x + 1


@cf.workflow()
def where():
    with open("scratch.txt", "w") as f:
        f.write("x")
    return os.getcwd()


class Refused(Exception):
    pass


@cf.task(retries=cf.Retries(2, when=Refused))
def refuse(kind):
    raise (Refused if kind == "refused" else ValueError)("no")


@cf.workflow()
def fan_out(n):
    first = double_impl.submit(n)
    with cf.group():
        with cf.group():
            second = double_impl.submit(n + 1)
        third = double_impl.submit(n + 2)
    return [first.result(), double_impl(n + 3), second.id, third.result()]


@cf.workflow()
def catch(n):
    try:
        double_impl(n)
    except ValueError as exc:
        return ["caught", str(exc)]
    except cf.ExecutionCancelled:
        return ["cancelled"]
    except cf.ExecutionError as exc:
        return ["refused", str(exc)]


@cf.workflow()
def polls(handle):
    return [handle.poll(), handle.poll(0.01, default="later"), handle.result()]
"""


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from importable_module(tmp_path_factory, "executor_flows", FLOWS)


@pytest.fixture(scope="module")
def zygote(flows: str) -> Iterator[Zygote]:
    zygote = Zygote([flows])
    manifest = zygote.manifest()
    assert "double" in [target["name"] for target in manifest[flows]]
    yield zygote
    zygote.close()


@pytest.fixture
def start(zygote: Zygote, flows: str) -> Iterator[Callable[[], Executor]]:
    yield from executors(zygote, flows)


def test_the_zygote_imported_the_modules_and_this_process_did_not(zygote, flows):
    assert flows not in sys.modules


def test_an_executor_that_gets_no_work_exits_when_the_worker_goes(start):
    process = start()
    process.pipe.close()
    assert process.exited()


def test_it_runs_a_target_found_by_its_registered_name_and_captures_output(start):
    process = start()
    process.execute("double", 21)

    assert process.value() == 42
    levels_and_texts = [(entry[1], entry[2]) for entry in process.logs]
    assert levels_and_texts == [(1, "doubling 21"), (4, "doubled {x}"), (3, "partial")]
    warning = process.logs[1]
    assert deserialize(warning[3]["x"]) == 21
    assert deserialize(warning[3]["extra"]) == {1: "one"}
    assert isinstance(warning[0], int)


def test_it_runs_async_targets(start):
    process = start()
    process.execute("later", 1)
    assert process.value() == 2


def test_each_execution_gets_a_fresh_working_directory_removed_afterwards(start):
    process = start()
    directories = []
    for n in (1, 2):
        announced = process.directory
        process.execute("where", execution=f"R1:{n}:1")
        directories.append(process.value())
        assert directories[-1] == announced

    first, second = directories
    assert first != second
    assert os.getcwd() not in directories
    # Removed once the result is on its way.
    deadline = time.monotonic() + REPLY_TIMEOUT
    while (os.path.exists(first) or os.path.exists(second)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not os.path.exists(first) and not os.path.exists(second)


def test_an_executor_runs_one_execution_after_another(start):
    process = start()
    for n in (1, 2, 3):
        process.execute("double", n, execution=f"R1:{n}:1")
        assert process.value() == n * 2
    assert not process.exited(0)


def test_an_executor_started_for_one_execution_exits_after_it(flows):
    zygote = Zygote([flows], reuse=False)
    try:
        zygote.manifest()
        process = Executor(zygote, flows)
        try:
            assert process.receive()["type"] == "ready"
            process.execute("double", 2)
            assert deserialize(process.next("result")["result"]["value"]) == 4
            assert process.exited()
        finally:
            process.close()
    finally:
        zygote.close()


def test_errors_carry_type_message_user_frames_and_retryability(start, flows):
    process = start()
    process.execute("refuse", "refused")
    error = process.result()["error"]
    assert (error["type"], error["message"], error["retryable"]) == (f"{flows}.Refused", "no", True)
    assert [frame["name"] for frame in error["frames"]] == ["refuse"]
    assert error["frames"][0]["code"].startswith("raise")
    assert error["frames"][0]["file"].endswith("executor_flows.py")

    process = start()
    process.execute("refuse", "other")
    assert process.result()["error"]["retryable"] is False


def test_an_unknown_target_is_an_error_result(start):
    process = start()
    process.execute("missing")
    error = process.result()["error"]
    assert error["type"] == "builtins.LookupError"
    assert "missing" in error["message"]


def test_submits_are_pipelined_and_results_read_as_they_arrive(start, flows):
    process = start()
    process.execute("fan_out", 1)

    submits = [process.next("submit") for _ in range(3)]
    assert [(s["ref"], s["group"], s["wait"]) for s in submits] == [
        ("1", None, False),
        ("2", 2, False),
        ("3", 1, False),
    ]
    first = submits[0]
    assert (first["parent"], first["module"], first["target"], first["target_type"]) == (
        "R1:1:1",
        flows,
        "double",
        "task",
    )
    assert [deserialize(argument) for argument in first["arguments"]] == [1]
    assert first["options"]["retries"] is None

    # The first child's result is pushed before it is asked for: reading it only records it.
    process.send(resolved(2, target="R1:10:1"))
    for ref in ("1", "2", "3"):
        process.send({"type": "submitted", "ref": ref, "execution": f"R1:{ref}0:1", "step": "x"})
    assert process.next("wait") == {
        "type": "wait",
        "execution": "R1:1:1",
        "targets": ["R1:10:1"],
        "reply": False,
    }

    # Calling a target submits with wait=True and asks for the reply.
    call = process.next("submit")
    assert (call["ref"], call["wait"], call["group"]) == ("4", True, None)
    process.send({"type": "submitted", "ref": "4", "execution": "R1:40:1", "step": "x"})
    wait = process.next("wait")
    assert (wait["targets"], wait["reply"]) == (["R1:40:1"], True)
    process.send(resolved(8, target="R1:40:1"))

    assert process.next("wait")["targets"] == ["R1:30:1"]
    process.send(resolved(6, target="R1:30:1"))

    assert process.value() == [2, 8, "R1:20:1", 6]


def test_a_failed_child_raises_an_error_of_its_type(start):
    process = start()
    process.execute("catch", 1)
    process.next("submit")
    process.send({"type": "submitted", "ref": "1", "execution": "R1:2:1", "step": "R1:2"})
    process.next("wait")
    error = {"type": "builtins.ValueError", "message": "bad", "frames": [], "retryable": None}
    process.send(
        {
            "type": "resolved",
            "execution": "R1:1:1",
            "target": "R1:2:1",
            "result": {"type": "error", "error": error},
        }
    )
    assert process.value() == ["caught", "bad"]


def test_a_cancelled_child_raises_execution_cancelled(start):
    process = start()
    process.execute("catch", 1)
    process.next("submit")
    process.send(
        {
            "type": "resolved",
            "execution": "R1:1:1",
            "target": "R1:2:1",
            "result": {"type": "cancelled"},
        }
    )
    process.send({"type": "submitted", "ref": "1", "execution": "R1:2:1", "step": "R1:2"})
    assert process.next("wait")["reply"] is False
    assert process.value() == ["cancelled"]


def test_a_refused_submit_raises_at_the_call(start):
    process = start()
    process.execute("catch", 1)
    process.next("submit")
    process.send(
        {"type": "error", "error": "invalid_arguments", "message": "bad input", "ref": "1"}
    )
    assert process.value() == ["refused", "bad input"]


def test_a_handle_passed_as_an_argument_is_live(start):
    process = start()
    process.execute("polls", Execution.reference("R0:1:1", "other", "target"))

    # Each poll() asks the server and waits for its answer: here, that there is no result yet.
    for _ in range(2):
        assert process.next("wait") == {
            "type": "wait",
            "execution": "R1:1:1",
            "targets": ["R0:1:1"],
            "reply": True,
        }
        process.send({"type": "pending", "execution": "R1:1:1", "targets": ["R0:1:1"]})
    assert process.next("wait")["reply"] is True
    process.send(resolved(5, target="R0:1:1"))
    assert process.value() == [None, "later", 5]


def test_a_wait_for_results_that_lasts_reports_the_execution_blocked_until_it_ends(start):
    process = start()
    process.execute("catch", 1)
    process.next("submit")
    process.send({"type": "submitted", "ref": "1", "execution": "R1:2:1", "step": "R1:2"})
    assert process.next("wait")["reply"] is True

    blocked = process.next("waiting")
    assert blocked == {"type": "waiting", "execution": "R1:1:1", "waiting": True}
    process.send(resolved(2, target="R1:2:1"))
    assert process.next("waiting")["waiting"] is False
    assert process.value() is None
    assert process.waiting == [True, False]


def test_polls_that_end_within_a_moment_report_nothing(start):
    process = start()
    process.execute("polls", Execution.reference("R0:1:1", "other", "target"))
    for _ in range(2):
        process.next("wait")
        # A slow answer to a poll's round trip is not blocking on a result.
        time.sleep(0.2)
        process.send({"type": "pending", "execution": "R1:1:1", "targets": ["R0:1:1"]})
    process.next("wait")
    # result() blocks: only it is reported.
    assert process.next("waiting")["waiting"] is True
    process.send(resolved(5, target="R0:1:1"))
    assert process.value() == [None, "later", 5]
    assert process.waiting == [True, False]
