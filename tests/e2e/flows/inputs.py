"""Targets for the inputs tests: prompts asked, answered, dismissed, cancelled, waited for,
suspended on, and handed to other runs and tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic

import coflux as cf


class Release(pydantic.BaseModel):
    version: str
    approved: bool = False


name = cf.Prompt("What is your name?", str)
anything = cf.Prompt("Enter something")
number = cf.Prompt("Enter a number", int, title="A number")
release = cf.Prompt("Release {{notes}}?", Release, title="Release")


@cf.workflow()
def asks_name() -> str:
    return name()


@cf.workflow()
def asks_anything() -> Any:
    return anything()


@cf.workflow()
def asks_number() -> int:
    return number()


@cf.workflow()
def asks_approval(service: str) -> str:
    approval = cf.Prompt("Deploy **{service}**?", title="Deploy", actions=("Ship it", "Hold"))
    try:
        approval(service=service)
    except cf.InputDismissed:
        return "dismissed"
    return "approved"


@cf.workflow()
def asks_twice() -> list[str]:
    same = [anything.submit().id, anything.submit().id]
    keyed = [name.with_key("k").submit().id, name.with_key("k").submit().id]
    distinct = [cf.Prompt("First?").submit().id, cf.Prompt("Second?").submit().id]
    try:
        number.with_key("k").submit()
    except ValueError as exc:
        mismatch = str(exc)
    return [*same, *keyed, *distinct, mismatch]


@cf.workflow()
def asks_with_initial() -> str:
    try:
        anything.with_initial({"value": 1}).submit()
    except ValueError as exc:
        return str(exc)
    return "accepted"


@cf.workflow()
def suspends_for_an_answer(directory: str) -> str:
    Path(directory, f"attempt-{len(list(Path(directory).iterdir())) + 1}").touch()
    with cf.suspense():
        return name.with_key("who").submit().result()


@cf.workflow()
def polls(directory: str) -> list[Any]:
    handle = name.submit()
    first = handle.poll()
    Path(directory, "polled").touch()
    later = handle.poll(60)
    return [first, later]


@cf.workflow()
def cancels() -> str:
    handle = name.submit()
    cf.cancel([handle])
    try:
        handle.result()
    except cf.ExecutionCancelled:
        return "cancelled"
    return "answered"


@cf.workflow()
def asks_release(notes: str) -> cf.Input[Release]:
    return release.submit(notes=notes)


@cf.workflow()
def awaits(handle: cf.Input[Release]) -> list[Any]:
    answer = handle.result()
    return [type(answer).__name__, answer.version, answer.approved]


@cf.workflow()
def hands_over(notes: str) -> list[Any]:
    """One run asks (a spawned run returns the input), another awaits the answer."""
    handle = asks_release(notes)
    return awaits(handle)


@cf.task()
def reads_release(handle: cf.Input[Release]) -> str:
    return handle.result().version


@cf.workflow()
def passes_to_a_task() -> str:
    return reads_release(release.submit(notes="v2"))
