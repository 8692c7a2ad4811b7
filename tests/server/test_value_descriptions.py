"""How the server describes values it never decodes: fragments, pickles and blobs by name."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest

from coflux import Asset, Execution
from coflux._blobs import Blobs, MemoryStore
from coflux._serialization import serialize
from runs.values import describe


@pytest.fixture
def blobs() -> Blobs:
    return Blobs([MemoryStore()], threshold=10_000)


def test_inline_data_is_shown_as_plain_json(blobs):
    value = serialize({"a": (1, 2), "when": dt.date(2024, 1, 2), 3: {4}, "n": None}, blobs=blobs)
    # Keys in the order the SDK sorts them: by repr.
    assert describe(value) == [
        ["a", [1, 2]],
        ["n", None],
        ["when", "2024-01-02"],
        [3, [4]],
    ]
    assert describe(serialize({"x": 1.5}, blobs=blobs)) == {"x": 1.5}


def test_fragments_are_shown_by_format_and_type_name(blobs):
    value = serialize([b"\x00" * 10, dt.UTC, {"set"}], blobs=blobs)
    [raw, pickled, plain] = describe(value)
    assert raw == {"fragment": "bytes", "key": value["refs"][0]["key"], "size": 10}
    assert pickled["fragment"] == "pickle"
    assert pickled["type"] == "datetime.timezone"
    assert plain == ["set"]


def test_a_pickle_is_never_loaded(monkeypatch, blobs):
    value = serialize(dt.UTC, blobs=blobs)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    assert describe(value)["type"] == "datetime.timezone"


def test_blobs_are_shown_by_key_and_size():
    store = Blobs([MemoryStore()], threshold=10)
    value = serialize(["a long enough value", Execution.reference("R1:1:1", "m", "t")], blobs=store)
    assert describe(value) == {
        "blob": value["key"],
        "size": value["size"],
        "refs": [{"execution": "R1:1:1"}],
    }


def test_references_name_what_they_refer_to(blobs):
    value = serialize(
        [Execution.reference("R1:2:1", "m", "t"), Asset.reference("Axyz", "charts", 2, 30)],
        blobs=blobs,
    )
    assert describe(value) == [
        {"execution": "R1:2:1"},
        {"asset": "Axyz", "name": "charts", "count": 2, "size": 30},
    ]


@pytest.mark.parametrize("value", [None, "text", {"type": "inline", "data": {"type": "ref"}}])
def test_malformed_values_do_not_break_it(value):
    describe(value)
