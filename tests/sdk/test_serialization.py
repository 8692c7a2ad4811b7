from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coflux import Execution
from coflux import _blobs as blobs
from coflux._blobs import Blobs, MemoryStore, key_of
from coflux._serialization import deserialize, serialize, to_json
from coflux_wire import protocol
from coflux_wire.values import MAX_DATA_DEPTH


@pytest.fixture(scope="module", autouse=True)
def memory_blobs():
    """Bytes are blobs, as are values over the threshold: keep them in memory."""
    store = Blobs([MemoryStore()])
    blobs.use(store)
    yield store
    blobs.use(None)


TIMEZONES = st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))])
CENTURY = dt.timedelta(days=36500)

hashable_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.decimals(allow_nan=False)
    | st.uuids()
    | st.datetimes(timezones=TIMEZONES)
    | st.dates()
    | st.times(timezones=TIMEZONES)
    | st.timedeltas(min_value=-CENTURY, max_value=CENTURY)
)
hashables = (
    hashable_scalars
    | st.tuples(hashable_scalars, hashable_scalars)
    | st.frozensets(hashable_scalars, max_size=3)
)
values = st.recursive(
    hashables,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(hashables, inner, max_size=4)
        | st.tuples(inner, inner)
        | st.sets(hashables, max_size=4)
    ),
    max_leaves=12,
)


def canonical(value: Any) -> Any:
    """A comparable form that also tells apart types that compare equal (1, 1.0, True).

    ``fold`` is left out: ISO 8601 has no place for it, and it only picks between two
    readings of a wall-clock time in a named zone, which the format does not carry either.
    """
    kind = type(value).__name__
    if isinstance(value, (dt.datetime, dt.time)):
        return (kind, repr(value.replace(fold=0)))
    if isinstance(value, (list, tuple)):
        return (kind, [canonical(item) for item in value])
    if isinstance(value, (set, frozenset)):
        return (kind, sorted((canonical(item) for item in value), key=repr))
    if isinstance(value, dict):
        pairs = ((canonical(key), canonical(item)) for key, item in value.items())
        return (kind, sorted(pairs, key=repr))
    return (kind, repr(value))


def over_the_wire(value: Any) -> Any:
    return deserialize(json.loads(json.dumps(serialize(value), allow_nan=False)))


@given(values)
def test_values_round_trip_exactly(value):
    assert canonical(over_the_wire(value)) == canonical(value)


@given(values)
def test_equal_values_encode_identically(value):
    assert serialize(over_the_wire(value)) == serialize(value)


def test_plain_json_stays_as_it_is():
    value = [1, "two", 3.5, True, None, [[]]]
    assert serialize(value) == {"type": "inline", "format": "json", "data": value, "refs": []}


def test_it_writes_the_documented_wrappers():
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    ident = uuid.UUID(int=1)
    data = serialize(
        {
            "b": (1, 2),
            "a": {3, 1},
            "c": when,
            "d": dt.timedelta(seconds=90),
            "e": decimal.Decimal("1.10"),
            "f": ident,
            "g": b"\x00\xff",
            1: math.inf,
        },
        blobs=Blobs([MemoryStore()], threshold=1000),
    )
    assert data["type"] == "inline"
    assert data["refs"] == [
        {
            "type": "fragment",
            "format": "bytes",
            "key": key_of(b"\x00\xff"),
            "size": 2,
            "metadata": {},
        }
    ]
    assert data["data"] == {
        "type": "dict",
        "items": [
            "a",
            {"type": "set", "items": [1, 3]},
            "b",
            {"type": "tuple", "items": [1, 2]},
            "c",
            {"type": "datetime", "value": "2024-05-01T12:30:00+00:00"},
            "d",
            {"type": "duration", "value": 90},
            "e",
            {"type": "decimal", "value": "1.10"},
            "f",
            {"type": "uuid", "value": str(ident)},
            "g",
            {"type": "ref", "index": 0},
            1,
            {"type": "float", "value": "inf"},
        ],
    }


def test_an_ordered_dict_keeps_its_order():
    value = OrderedDict([("b", 1), ("a", 2)])
    assert serialize(value)["data"]["items"] == ["b", 1, "a", 2]
    assert list(deserialize(serialize(value))) == ["b", "a"]


def test_non_finite_floats_round_trip():
    decoded = over_the_wire([math.inf, -math.inf, math.nan])
    assert decoded[:2] == [math.inf, -math.inf]
    assert math.isnan(decoded[2])


# Values that plain JSON on the wire cannot hold: the boundary refuses NUL and lone surrogates in
# text, integers beyond signed 64 bits and floats that are not finite, so they travel wrapped.
awkward_text = st.text(st.characters(codec=None, categories=["Cs", "Cc"])) | st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "\udfff\x00\ud83d"]
)
awkward_scalars = (
    awkward_text
    | st.floats()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**200])
)
awkward = st.recursive(
    hashables | awkward_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(hashables | awkward_text, inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=12,
)


def over_the_boundary(value: Any) -> Any:
    """``value`` as a task's result: encoded, framed, read and validated by the server's rules,
    then decoded."""
    result = {"type": "value", "value": serialize(value)}
    message = {"type": "result", "execution": "R1:1:1", "result": result}
    (received,) = protocol.messages_of(protocol.encode(message))
    return deserialize(protocol.validate(received, protocol.WORKER_MESSAGES)["result"]["value"])


@given(awkward)
def test_values_json_cannot_hold_pass_the_boundary_and_round_trip(value):
    assert canonical(over_the_boundary(value)) == canonical(value)


def test_awkward_scalars_have_wrappers_of_their_own():
    data = data_of
    assert data("a\x00b\ud800") == {"type": "str", "chunks": ["a", 0, "b", 0xD800]}
    assert data(2**64) == {"type": "int", "value": "18446744073709551616"}
    assert data(-(2**63)) == -(2**63)
    assert data(math.nan) == {"type": "float", "value": "nan"}


def test_an_integer_with_more_digits_than_python_prints_round_trips():
    huge = -(7**10_000)
    assert data_of(huge)["value"].startswith("-0x")
    assert over_the_boundary([huge]) == [huge]


def data_of(value: Any) -> Any:
    return serialize(value, blobs=Blobs([MemoryStore()], threshold=10**6))["data"]


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def test_deep_data_is_kept_as_a_blob_however_small():
    shallow, deep = nested(MAX_DATA_DEPTH), nested(MAX_DATA_DEPTH + 1)
    roomy = Blobs([MemoryStore()], threshold=10**6)
    assert serialize(shallow, blobs=roomy)["type"] == "inline"
    assert serialize(deep, blobs=roomy)["type"] == "blob"
    assert over_the_boundary(nested(200)) == nested(200)


def test_execution_handles_travel_as_deduplicated_refs():
    first = Execution.reference("R1:1:1", "pkg.mod", "work")
    second = Execution.reference("R1:2:1", "pkg.mod", "other")

    value = serialize([first, second, first])

    assert value["data"] == [
        {"type": "ref", "index": 0},
        {"type": "ref", "index": 1},
        {"type": "ref", "index": 0},
    ]
    assert value["refs"] == [
        {"type": "execution", "id": "R1:1:1", "module": "pkg.mod", "target": "work"},
        {"type": "execution", "id": "R1:2:1", "module": "pkg.mod", "target": "other"},
    ]
    decoded = deserialize(value)
    assert [(h.id, h.module, h.target) for h in decoded] == [
        ("R1:1:1", "pkg.mod", "work"),
        ("R1:2:1", "pkg.mod", "other"),
        ("R1:1:1", "pkg.mod", "work"),
    ]
    assert isinstance(decoded[0], Execution)


def test_a_decoded_handle_cannot_be_read_outside_an_execution():
    handle = deserialize(serialize(Execution.reference("R1:1:1", "m", "t")))
    with pytest.raises(RuntimeError, match="Not in an execution context"):
        handle.result()


def unpicklable():
    class Local:
        pass

    return Local()


@pytest.mark.parametrize(
    "value",
    [unpicklable(), {"nested": [lambda: 1]}, (n for n in range(3)), __import__("threading").Lock()],
)
def test_values_that_cannot_be_pickled_are_refused(value):
    with pytest.raises(TypeError, match="cannot serialize"):
        serialize(value)


def test_the_type_is_named():
    with pytest.raises(TypeError, match=r"test_serialization\.unpicklable\.<locals>\.Local"):
        serialize(unpicklable())


@pytest.mark.parametrize(
    "value",
    [
        {"type": "inline", "format": "yaml", "data": 1, "refs": []},
        {"type": "inline", "format": "json", "data": {"type": "mystery"}, "refs": []},
        {"type": "inline", "format": "json", "data": 1, "refs": [{"type": "mystery", "id": "a"}]},
        {
            "type": "inline",
            "format": "json",
            "data": 1,
            "refs": [{"type": "fragment", "format": "xml", "key": "0" * 64, "size": 1}],
        },
    ],
)
def test_unknown_encodings_are_refused(value):
    with pytest.raises(ValueError):
        deserialize(value)


def test_to_json_renders_plain_json():
    when = dt.date(2024, 1, 2)
    rendered = to_json(
        {
            "text": "x",
            "tuple": (1, 2),
            "set": {2, 1},
            "date": when,
            "duration": dt.timedelta(minutes=1),
            "decimal": decimal.Decimal("2.5"),
            "bytes": b"hi",
            "keys": {1: "one"},
            "nan": math.nan,
            "handle": Execution.reference("R1:1:1", "m", "t"),
            "other": Execution,
        }
    )
    assert rendered == {
        "text": "x",
        "tuple": [1, 2],
        "set": [1, 2],
        "date": "2024-01-02",
        "duration": 60.0,
        "decimal": "2.5",
        "bytes": "aGk=",
        "keys": [[1, "one"]],
        "nan": "nan",
        "handle": {"execution": "R1:1:1"},
        "other": repr(Execution),
    }
    json.dumps(rendered, allow_nan=False)


@given(values)
def test_to_json_always_gives_json(value):
    json.dumps(to_json(value), allow_nan=False)
