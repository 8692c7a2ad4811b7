"""Showing log entries: templates filled in with their values, the other values alongside."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

from coflux._execution import Execution
from coflux._logs import render, show
from coflux._serialization import serialize


def values(**named):
    return {name: serialize(value) for name, value in named.items()}


def test_placeholders_are_replaced_by_their_values():
    assert render("loaded {count} rows from {path}", values(count=3, path="a.csv")) == (
        "loaded 3 rows from a.csv",
        {},
    )


def test_values_the_template_does_not_name_are_shown_alongside():
    text, extras = render("done {n}", values(n=1, user="ann", tags={"x", "y"}))

    assert text == "done 1"
    assert extras == {"user": "'ann'", "tags": "{'x', 'y'}"}


def test_a_placeholder_without_a_value_stays_as_it_is():
    assert render("{missing} and {{braces}} and {n}", values(n=2)) == (
        "{missing} and {{braces}} and 2",
        {},
    )


def test_a_value_used_twice_is_shown_twice():
    assert render("{a}+{a}", values(a=1))[0] == "1+1"


def test_an_entry_without_a_template_shows_only_values():
    assert render("", values(x=1.5)) == ("", {"x": "1.5"})


@pytest.mark.parametrize(
    "value, shown",
    [
        (None, "None"),
        (True, "True"),
        ("text", "'text'"),
        ([1, "a"], "[1, 'a']"),
        ({"a": 1, 2: "b"}, "{'a': 1, 2: 'b'}"),
        ((1,), "(1,)"),
        ((1, 2), "(1, 2)"),
        (set(), "set()"),
        (frozenset({1}), "frozenset({1})"),
        (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2026-01-02T03:04:05+00:00"),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (dt.timedelta(seconds=90), "90s"),
        (decimal.Decimal("1.10"), "1.10"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (float("inf"), "inf"),
        (Execution("m", "t", id="R1:2:1"), "<execution R1:2:1>"),
    ],
)
def test_values_are_shown_like_python_literals(value, shown):
    assert show(serialize(value)) == shown


def fragment(format: str, size: int, **metadata: str) -> dict:
    ref = {"type": "fragment", "format": format, "key": "ab" * 32, "size": size}
    reference = {**ref, "metadata": metadata}
    return {
        "type": "inline",
        "format": "json",
        "data": {"type": "ref", "index": 0},
        "refs": [reference],
    }


def test_opaque_values_are_shown_by_kind_without_fetching_them():
    assert show({"type": "blob", "key": "ab" * 32, "size": 5000, "refs": []}) == (
        "<blob, 5000 bytes>"
    )
    assert show(fragment("bytes", 3)) == "<3 bytes>"
    assert show(fragment("pickle", 30, type="pkg.Thing")) == "<pkg.Thing>"
    assert show(fragment("json", 30, model="pkg.Model")) == "<pkg.Model>"
    assert show(fragment("parquet", 300)) == "<parquet>"
    assert show({"type": "something-new"}) == "<value>"
    assert show("not a value") == "<value>"


def test_long_values_are_cut():
    long = {"type": "inline", "format": "json", "data": ["x" * 5000], "refs": []}
    assert len(show(long)) == 1000
    assert show({**long, "data": "y" * 5000}, top=True) == "y" * 999 + "…"
