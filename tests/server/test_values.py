from __future__ import annotations

import pytest

from coflux._serialization import deserialize
from runs.values import from_plain_json


def test_it_wraps_plain_json_in_an_inline_value():
    assert from_plain_json([1, "a", None, 2.5, True]) == {
        "type": "inline",
        "format": "json",
        "data": [1, "a", None, 2.5, True],
        "refs": [],
    }


def test_it_writes_objects_as_dicts_with_sorted_keys_recursively():
    assert from_plain_json({"b": {"y": 1, "x": [{}]}, "a": 0})["data"] == {
        "type": "dict",
        "items": [
            "a",
            0,
            "b",
            {"type": "dict", "items": ["x", [{"type": "dict", "items": []}], "y", 1]},
        ],
    }


def test_it_round_trips_through_the_sdk():
    value = {"name": "x", "tags": ["a", {"k": None}], "n": 1.5}

    assert deserialize(from_plain_json(value)) == value


def test_it_refuses_values_that_are_not_json():
    with pytest.raises(TypeError):
        from_plain_json({"when": object()})
