"""``cf.Prompt`` and ``cf.Input`` in a real executor process (this test plays the worker's part),
and what a prompt is before it is asked: its schema, key, copies, and refusals outside an
execution."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pydantic
import pytest

import coflux as cf
from coflux._prompt import default_key
from coflux._serialization import deserialize, serialize
from coflux._zygote import Zygote
from tests.sdk.support import Executor, executors, importable_module, started_zygote

FLOWS = """
import datetime as dt

import pydantic

import coflux as cf


class Review(pydantic.BaseModel):
    approved: bool
    note: str = ""


approval = cf.Prompt(
    '''
    Deploy **{service}**?
    ''',
    title="Deployment",
)
review = cf.Prompt("Review {{report}}", Review, actions=("Accept", "Reject"))
when = cf.Prompt("When?", dt.date)


@cf.workflow()
def approve(service):
    try:
        return ["approved", approval(service=service)]
    except cf.InputDismissed as exc:
        return ["dismissed", str(exc)]
    except cf.ExecutionCancelled:
        return ["cancelled"]


@cf.workflow()
def reviewed():
    verdict = review.with_initial(Review(approved=True)).submit(report="all good").result()
    return [type(verdict).__name__, verdict.approved, verdict.note]


@cf.workflow()
def dated():
    handle = when.submit()
    return [handle.poll(), handle.poll(0.01, "later"), handle.result().isoformat()]


@cf.workflow()
def handed_on():
    return review.submit(report="x")


@cf.workflow()
def typed(handle: cf.Input[Review]):
    verdict = handle.result()
    return [type(verdict).__name__, verdict.approved]


@cf.workflow()
def suspends():
    handle = approval.with_key("k").submit(service="api")
    with cf.suspense():
        return handle.result()


@cf.workflow()
def cancels():
    handle = approval.submit(service="db")
    cf.cancel([handle])
    try:
        handle.result()
    except cf.ExecutionCancelled:
        return "cancelled"


@cf.workflow()
def mismatched():
    try:
        approval.with_key("k").submit(service="x")
    except ValueError as exc:
        return str(exc)
"""


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from importable_module(tmp_path_factory, "prompt_flows", FLOWS)


@pytest.fixture(scope="module")
def zygote(flows: str) -> Iterator[Zygote]:
    yield from started_zygote(flows)


@pytest.fixture
def start(zygote: Zygote, flows: str) -> Iterator[Callable[[], Executor]]:
    yield from executors(zygote, flows)


def answered(process: Executor, input_id: str = "R1/i1") -> dict:
    """Reply to the execution's ask with ``input_id``; return the ask."""
    ask = process.next("submit_input")
    process.send({"type": "input_submitted", "ref": ask["ref"], "input": input_id})
    return ask


def resolve(process: Executor, result: dict, input_id: str = "R1/i1") -> None:
    wait = process.next("wait")
    assert wait["targets"] == [input_id]
    process.send({"type": "resolved", "execution": "R1:1:1", "target": input_id, "result": result})


def value(data) -> dict:
    return {"type": "value", "value": serialize(data)}


def test_a_prompt_asks_and_returns_the_response(start):
    process = start()
    process.execute("approve", "api")
    ask = answered(process)
    assert ask["execution"] == "R1:1:1"
    assert ask["template"] == "Deploy **{service}**?"
    assert {name: deserialize(v) for name, v in ask["placeholders"].items()} == {"service": "api"}
    assert ask["title"] == "Deployment" and ask["schema"] is None and ask["actions"] is None
    assert ask["key"] == default_key(ask["template"], ask["placeholders"], None, "Deployment", None)
    assert ask["initial"] is None and ask["requires"] is None
    resolve(process, value(True))
    assert process.value() == ["approved", True]


def test_a_dismissed_prompt_raises_input_dismissed(start):
    process = start()
    process.execute("approve", "api")
    answered(process)
    resolve(process, {"type": "dismissed"})
    assert process.value() == ["dismissed", "input R1/i1 was dismissed"]


def test_a_cancelled_prompt_raises_execution_cancelled(start):
    process = start()
    process.execute("approve", "api")
    answered(process)
    resolve(process, {"type": "cancelled"})
    assert process.value() == ["cancelled"]


def test_a_model_gives_the_schema_and_parses_the_response(start):
    process = start()
    process.execute("reviewed")
    ask = answered(process)
    assert ask["schema"]["properties"]["approved"] == {"title": "Approved", "type": "boolean"}
    assert ask["actions"] == ["Accept", "Reject"]
    assert ask["initial"] == {"approved": True, "note": ""}
    resolve(process, value({"approved": False, "note": "typo"}))
    assert process.value() == ["Review", False, "typo"]


def test_a_date_prompt_polls_and_parses_iso_text(start):
    process = start()
    process.execute("dated")
    assert answered(process)["schema"] == {"type": "string", "format": "date"}
    for _ in range(2):
        assert process.next("wait")["reply"] is True
        process.send({"type": "pending", "execution": "R1:1:1", "targets": ["R1/i1"]})
    resolve(process, value("2026-12-24"))
    assert process.value() == [None, "later", "2026-12-24"]


def test_an_input_travels_as_a_reference_and_an_annotation_types_it(start):
    process = start()
    process.execute("handed_on")
    answered(process, "R1/i7")
    returned = process.result()["value"]
    assert returned["refs"] == [{"type": "input", "id": "R1/i7"}]
    handle = deserialize(returned)
    assert isinstance(handle, cf.Input) and handle.id == "R1/i7"

    process = start()
    process.execute("typed", handle, execution="R2:1:1")
    wait = process.next("wait")
    assert wait["targets"] == ["R1/i7"]
    process.send(
        {
            "type": "resolved",
            "execution": "R2:1:1",
            "target": "R1/i7",
            "result": value({"approved": True}),
        }
    )
    assert process.value() == ["Review", True]


def test_waiting_in_suspense_suspends_on_the_input(start):
    process = start()
    process.execute("suspends")
    assert answered(process)["key"] == "k"
    process.next("wait")
    process.send({"type": "pending", "execution": "R1:1:1", "targets": ["R1/i1"]})
    assert process.result() == {"type": "suspended", "after": None, "dependencies": ["R1/i1"]}


def test_cancelling_an_input_asks_the_server(start):
    process = start()
    process.execute("cancels")
    answered(process)
    assert process.next("cancel")["targets"] == ["R1/i1"]
    resolve(process, {"type": "cancelled"})
    assert process.value() == "cancelled"


def test_a_refused_ask_raises_value_error(start):
    process = start()
    process.execute("mismatched")
    ask = process.next("submit_input")
    message = "input R1/i1 has the key 'k' but asks something else"
    process.send(
        {"type": "error", "error": "input_mismatch", "message": message, "ref": ask["ref"]}
    )
    assert process.value() == message


# --- a prompt before it is asked ----------------------------------------------------------


class Form(pydantic.BaseModel):
    count: int


@pytest.mark.parametrize(
    ("model", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (dt.date, {"type": "string", "format": "date"}),
        (dt.time, {"type": "string", "format": "time"}),
        (dt.datetime, {"type": "string", "format": "date-time"}),
        (Form, Form.model_json_schema()),
    ],
)
def test_a_model_becomes_a_json_schema(model, schema):
    assert cf.Prompt("?", model)._schema == schema


def test_a_schema_may_be_text_or_a_dict_but_not_beside_a_model():
    assert cf.Prompt("?", schema='{"type": "integer"}')._schema == {"type": "integer"}
    assert cf.Prompt("?", schema={"type": "integer"})._schema == {"type": "integer"}
    assert cf.Prompt("?")._schema is None
    with pytest.raises(ValueError):
        cf.Prompt("?", schema="{not json")
    with pytest.raises(ValueError):
        cf.Prompt("?", int, schema={"type": "integer"})
    with pytest.raises(TypeError):
        cf.Prompt("?", list)


def test_copies_change_one_thing_each():
    base = cf.Prompt("?", Form, requires={"team": "ops"})
    assert base._requires == {"team": ["ops"]}
    keyed = base.with_key("mine")
    assert (keyed._key, base._key) == ("mine", None)
    assert base.with_initial(Form(count=2))._initial == {"count": 2}
    assert base.with_actions("Yes", "No")._actions == ("Yes", "No")
    assert base.with_requires({"gpu": True})._requires == {"gpu": ["true"]}
    assert keyed._schema == base._schema


def test_equal_prompts_have_equal_keys_and_any_difference_changes_it():
    placeholders = {"a": serialize(1)}
    key = default_key("t", placeholders, None, None, None)
    assert len(key) == 16 and key == default_key("t", {"a": serialize(1)}, None, None, None)
    assert key != default_key("t", {"a": serialize(2)}, None, None, None)
    assert key != default_key("t", placeholders, None, "title", None)
    assert key != default_key("t", placeholders, None, None, ("Go", "Stop"))
    assert key != default_key("t", placeholders, {"type": "integer"}, None, None)


def test_prompts_and_input_handles_need_an_execution():
    with pytest.raises(RuntimeError, match="Not in an execution context"):
        cf.Prompt("?")()
    with pytest.raises(RuntimeError):
        cf.Input("R1/i1").result()


def test_input_handles_compare_by_id_and_keep_their_type():
    assert cf.Input("R1/i1") == cf.Input[Form]("R1/i1")
    assert cf.Input[Form] is cf.Input[Form]
    assert cf.Input[Form]("R1/i1")._parse({"count": 3}) == Form(count=3)
    assert cf.Input[str]("R1/i1").id == "R1/i1"
