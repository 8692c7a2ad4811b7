"""Values of every type (SPEC §4): fragments, blobs over the threshold, references."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import pickle
import threading
from typing import Any

import pandas
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coflux import Asset, Execution
from coflux import _blobs as blobs
from coflux._blobs import Blobs, MemoryStore, key_of
from coflux._serialization import deserialize, is_plain, serialize, to_json


class Reading(pydantic.BaseModel):
    sensor: str
    value: float
    at: dt.datetime
    tags: list[str] = []


class Box:
    """Has no encoding of its own: it is pickled."""

    def __init__(self, content: Any) -> None:
        self.content = content

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and other.content == self.content

    def __hash__(self) -> int:
        return hash(("box", repr(self.content)))


class Outer:
    class Inner(pydantic.BaseModel):
        n: int


@pytest.fixture(scope="module")
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture(scope="module", autouse=True)
def memory_blobs(store: MemoryStore):
    blobs.use(Blobs([store]))
    yield
    blobs.use(None)


def wire(value: Any, **options: Any) -> dict[str, Any]:
    """The value as it arrives at the other end: through JSON."""
    return json.loads(json.dumps(serialize(value, **options), allow_nan=False))


def round_trip(value: Any, **options: Any) -> Any:
    return deserialize(wire(value, **options), **options)


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 == True otherwise)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, pandas.DataFrame):
        return a.equals(b) and list(a.dtypes) == list(b.dtypes)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


readings = st.builds(
    Reading,
    sensor=st.text(max_size=20),
    value=st.floats(allow_nan=False, allow_infinity=False),
    at=st.datetimes(timezones=st.just(dt.UTC)),
    tags=st.lists(st.text(max_size=5), max_size=3),
)
frames = st.builds(
    lambda ints, texts: pandas.DataFrame(
        {"n": ints, "s": (texts * len(ints))[: len(ints)] if texts else [""] * len(ints)}
    ),
    st.lists(st.integers(-(2**62), 2**62), max_size=5),
    st.lists(st.text(max_size=5), max_size=3),
)
scalars = (
    st.none()
    | st.integers()
    | st.text(max_size=300)
    | st.binary(max_size=300)
    | st.binary(max_size=20).map(bytearray)
    | st.decimals(allow_nan=False)
    | st.builds(Box, st.integers() | st.text(max_size=10))
)
values = st.recursive(
    scalars | readings | frames,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.integers() | st.text(max_size=5) | st.binary(max_size=4), inner, max_size=3
        )
        | st.tuples(inner, inner)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(values, st.sampled_from([0, 1, 200, 10**9]))
def test_every_type_round_trips_exactly_at_any_threshold(value, threshold):
    store = Blobs([MemoryStore()], threshold=threshold)
    assert same(round_trip(value, blobs=store), value)


@settings(max_examples=100, deadline=None)
@given(values)
def test_equal_values_encode_identically(value):
    assert serialize(round_trip(value)) == serialize(value)


def test_bytes_travel_as_a_fragment_in_the_blob_store(store: MemoryStore):
    value = wire(b"\x00\x01binary")

    assert value["data"] == {"type": "ref", "index": 0}
    [ref] = value["refs"]
    assert ref == {
        "type": "fragment",
        "format": "bytes",
        "key": key_of(b"\x00\x01binary"),
        "size": 8,
        "metadata": {},
    }
    assert store.get(ref["key"]) == b"\x00\x01binary"
    assert type(round_trip(bytearray(b"ab"))) is bytearray


def test_a_pydantic_model_is_a_json_fragment_naming_its_class(store: MemoryStore):
    reading = Reading(sensor="t1", value=2.5, at=dt.datetime(2024, 1, 2, tzinfo=dt.UTC))

    [ref] = wire(reading)["refs"]

    assert (ref["format"], ref["metadata"]) == ("json", {"model": f"{__name__}.Reading"})
    assert json.loads(store.get(ref["key"])) == json.loads(reading.model_dump_json())
    assert round_trip(reading) == reading
    assert round_trip(Outer.Inner(n=3)) == Outer.Inner(n=3)


def test_a_data_frame_is_a_parquet_fragment(store: MemoryStore):
    frame = pandas.DataFrame({"city": ["Oslo", "Lima"], "people": [709_000, 10_000_000]})

    [ref] = wire(frame)["refs"]

    assert ref["format"] == "parquet"
    assert store.get(ref["key"]).startswith(b"PAR1")
    assert round_trip(frame).equals(frame)


def test_a_data_frame_parquet_cannot_hold_is_pickled():
    frame = pandas.DataFrame({1: [1, 2], 2: ["a", "b"]})  # column names must be strings

    [ref] = wire(frame)["refs"]

    assert ref["format"] == "pickle"
    assert round_trip(frame).equals(frame)


def test_other_values_are_pickled_with_their_type_named(store: MemoryStore):
    [ref] = wire(Box([1, 2]))["refs"]

    assert (ref["format"], ref["metadata"]) == ("pickle", {"type": f"{__name__}.Box"})
    assert pickle.loads(store.get(ref["key"])) == Box([1, 2])
    assert round_trip({"box": Box("x")}) == {"box": Box("x")}


def test_a_value_that_cannot_be_pickled_raises_a_clear_type_error():
    with pytest.raises(TypeError, match=r"builtins\.function.*cannot be pickled"):
        serialize([lambda: 1])
    with pytest.raises(TypeError, match="_thread.lock"):
        serialize(threading.Lock())


def test_values_over_the_threshold_are_blobs(store: MemoryStore):
    small, large = "x" * 100, ["y" * 150, {"k": "v" * 60}]

    assert wire(small)["type"] == "inline"
    value = wire(large)
    assert value["type"] == "blob"
    content = store.get(value["key"])
    assert value["size"] == len(content) > 200
    assert json.loads(content) == serialize(large, blobs=Blobs([store], threshold=10**6))["data"]
    assert round_trip(large) == large


def test_a_blob_keeps_its_references_outside(store: MemoryStore):
    handle = Execution.reference("R1:1:1", "m", "t")
    value = wire([handle, "z" * 300, b"raw"])

    assert value["type"] == "blob"
    assert [ref["type"] for ref in value["refs"]] == ["execution", "fragment"]
    decoded = deserialize(value)
    assert decoded[0].id == "R1:1:1" and decoded[1:] == ["z" * 300, b"raw"]


def test_threshold_zero_makes_every_value_a_blob_but_none():
    everything = Blobs([MemoryStore()], threshold=0)

    assert serialize(1, blobs=everything)["type"] == "blob"
    assert serialize("", blobs=everything)["type"] == "blob"
    assert serialize(None, blobs=everything) == {
        "type": "inline",
        "format": "json",
        "data": None,
        "refs": [],
    }


def test_the_threshold_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("COFLUX_BLOBS_THRESHOLD", "0")
    blobs.use(None)
    blobs.configure(None)
    try:
        assert blobs.threshold() == 0
    finally:
        blobs.configure(None)
        monkeypatch.delenv("COFLUX_BLOBS_THRESHOLD")
        assert blobs.threshold() == 200


def test_an_asset_travels_as_a_reference_and_decodes_to_a_handle():
    asset = Asset.reference("Abcd1234", "charts", 3, 1200)

    value = wire({"out": asset})

    assert value["refs"] == [
        {"type": "asset", "id": "Abcd1234", "name": "charts", "count": 3, "size": 1200}
    ]
    decoded = deserialize(value)["out"]
    assert isinstance(decoded, Asset)
    assert decoded.id == "Abcd1234"
    assert decoded.metadata.total_size == 1200
    assert decoded.metadata.name == "charts"
    assert pickle.loads(pickle.dumps(decoded)) == decoded


def test_only_data_is_plain():
    assert is_plain({"a": (1, dt.date(2024, 1, 1)), "b": decimal.Decimal("1")})
    for value in (b"x", Box(1), Reading(sensor="s", value=1, at=dt.datetime.now(dt.UTC))):
        assert not is_plain(value)
    assert not is_plain([Execution.reference("R1:1:1", "m", "t")])


def test_to_json_shows_models_and_assets():
    reading = Reading(sensor="s", value=1.5, at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert to_json(reading) == {
        "sensor": "s",
        "value": 1.5,
        "at": "2024-01-01T00:00:00Z",
        "tags": [],
    }
    assert to_json(Asset.reference("A1", None, 1, 1)) == {"asset": "A1"}
