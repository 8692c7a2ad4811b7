"""An execution's messages to the worker: batched while replies are outstanding, never reordered."""

from __future__ import annotations

from typing import Any

from coflux._outgoing import Outgoing


class Pipe:
    def __init__(self) -> None:
        self.writes: list[list[str]] = []

    def send(self, *messages: dict[str, Any]) -> None:
        self.writes.append([message["name"] for message in messages])


def submit(name: str) -> dict[str, Any]:
    return {"type": "submit", "name": name}


def wait(name: str, reply: bool) -> dict[str, Any]:
    return {"type": "wait", "name": name, "reply": reply}


def test_submits_wait_for_the_first_reply_then_leave_together():
    pipe = Pipe()
    outgoing = Outgoing(pipe)
    for name in ("a", "b", "c"):
        outgoing.send(submit(name))
    assert pipe.writes == [["a"]]
    outgoing.answered()
    assert pipe.writes == [["a"], ["b", "c"]]
    outgoing.answered()
    outgoing.answered()
    outgoing.send(submit("d"))
    assert pipe.writes[-1] == ["d"]


def test_waits_without_reply_are_held_and_anything_else_takes_them_along_in_order():
    pipe = Pipe()
    outgoing = Outgoing(pipe)
    outgoing.send(wait("w1", reply=False))
    outgoing.send(wait("w2", reply=False))
    assert pipe.writes == []
    outgoing.send({"type": "log", "name": "log"})
    assert pipe.writes == [["w1", "w2", "log"]]
    outgoing.send(wait("w3", reply=False))
    outgoing.send(wait("w4", reply=True))
    assert pipe.writes[-1] == ["w3", "w4"]


def test_flush_sends_what_was_held_before_the_given_messages():
    pipe = Pipe()
    outgoing = Outgoing(pipe)
    outgoing.send(submit("a"))
    outgoing.send(submit("b"))
    outgoing.send(wait("w", reply=False))
    outgoing.flush({"type": "result", "name": "result"}, {"type": "ready", "name": "ready"})
    assert pipe.writes == [["a"], ["b", "w", "result", "ready"]]
    outgoing.flush()
    assert len(pipe.writes) == 2
