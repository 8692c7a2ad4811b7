"""Studio's one value renderer: every kind of value drawn as what it is, and nothing injected."""

from __future__ import annotations

import json

import pytest

from runs.studio.values_view import render_blob, render_value, short_text, size

XSS = "<img src=x onerror=alert(1)>"


def inline(data, refs=None):
    return {"type": "inline", "format": "json", "data": data, "refs": refs or []}


def test_json_is_a_collapsible_tree():
    html = render_value(inline({"type": "dict", "items": ["a", [1, 2.5, True, None]]}))
    assert '<details class="v-coll v-dict" open>' in html
    assert '<span class="v-key">a</span>' in html
    assert '<span class="v v-num">1</span>' in html
    assert '<span class="v v-num">2.5</span>' in html
    assert '<span class="v v-bool">True</span>' in html
    assert '<span class="v v-null">None</span>' in html
    assert "v-list" in html and "4 items" in html and "1 item<" in html


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ({"type": "tuple", "items": [1, 2]}, ">tuple<"),
        ({"type": "set", "items": [1]}, ">set<"),
        ({"type": "frozenset", "items": [1]}, ">frozenset<"),
        (
            {"type": "datetime", "value": "2026-01-02T03:04:05"},
            "datetime</span> 2026-01-02T03:04:05",
        ),
        ({"type": "date", "value": "2026-01-02"}, "date</span> 2026-01-02"),
        ({"type": "decimal", "value": "1.10"}, "Decimal</span> 1.10"),
        ({"type": "uuid", "value": "0b4c"}, "UUID</span> 0b4c"),
        ({"type": "duration", "value": 90}, "timedelta</span> 90 s"),
        ({"type": "float", "value": "nan"}, ">nan<"),
    ],
)
def test_typed_values_show_their_kind(data, shown):
    assert shown in render_value(inline(data))


def test_a_dict_with_other_keys_than_strings_draws_its_keys_as_values():
    html = render_value(inline({"type": "dict", "items": [1, "one", [2], "two"]}))
    assert "v-keyed" in html
    assert '<dt><span class="v v-num">1</span></dt>' in html


def test_references_link_to_their_step_and_their_asset():
    refs = [
        {"type": "execution", "id": "Rabc:3:2", "module": "m", "target": "t"},
        {"type": "asset", "id": "Axyz", "name": "charts", "count": 2, "size": 3200},
    ]
    html = render_value(inline([{"type": "ref", "index": 0}, {"type": "ref", "index": 1}], refs))
    assert 'href="/runs/Rabc?step=3&amp;attempt=2"' in html
    assert 'data-step="Rabc:3"' in html and "m/t" in html
    assert 'href="/assets/Axyz"' in html and "charts" in html and "2 files · 3.2 KB" in html


@pytest.mark.parametrize(
    ("fragment", "shown"),
    [
        ({"format": "bytes", "metadata": {}}, "bytes"),
        ({"format": "pickle", "metadata": {"type": "app.Model"}}, "app.Model"),
        ({"format": "parquet", "metadata": {}}, "DataFrame"),
    ],
)
def test_fragments_are_shown_by_kind_and_size_with_their_blob(fragment, shown):
    ref = {"type": "fragment", "key": "ab" * 32, "size": 3_200_000, **fragment}
    html = render_value(inline({"type": "ref", "index": 0}, [ref]))
    assert shown in html and "3.2 MB" in html
    assert f'href="/blobs/{"ab" * 32}"' in html


def test_a_model_can_be_loaded_and_is_drawn_as_json():
    ref = {"type": "fragment", "format": "json", "key": "cd" * 32, "size": 40}
    ref["metadata"] = {"model": "app.Point"}
    html = render_value(inline({"type": "ref", "index": 0}, [ref]))
    assert "app.Point" in html and 'data-plain="1"' in html and "Load 40 B" in html
    drawn = render_blob(json.dumps({"x": 1, "label": XSS}), [], plain=True)
    assert "v-dict" in drawn and XSS not in drawn and "&lt;img" in drawn


def test_a_value_in_the_blob_store_is_loaded_on_demand_and_drawn_by_the_same_renderer():
    refs = [{"type": "execution", "id": "Rabc:2:1"}]
    html = render_value({"type": "blob", "key": "ef" * 32, "size": 3_200_000, "refs": refs})
    assert "Load 3.2 MB" in html
    assert f'data-blob-url="/blobs/{"ef" * 32}"' in html
    assert 'data-render-url="/studio/values"' in html
    assert "&quot;Rabc:2:1&quot;" in html  # the references travel with the button
    drawn = render_blob(json.dumps([{"type": "ref", "index": 0}, XSS]), refs)
    assert 'href="/runs/Rabc?step=2&amp;attempt=1"' in drawn
    assert XSS not in drawn


def test_text_that_is_not_json_is_shown_as_text():
    drawn = render_blob(XSS, [])
    assert "not JSON" in drawn and XSS not in drawn


def test_long_strings_fold_and_long_collections_are_cut():
    html = render_value(inline("line one\n" + "x" * 500))
    assert '<details class="v-long">' in html and "509 characters" in html
    many = render_value(inline(list(range(250))))
    assert "… 150 more" in many and many.count("<li>") == 100


def test_nothing_in_a_value_is_markup():
    data = {"type": "dict", "items": [XSS, [XSS, {"type": "tuple", "items": [XSS]}]]}
    refs = [{"type": "asset", "id": XSS, "name": XSS}]
    html = render_value(inline([data, {"type": "ref", "index": 0}], refs))
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_compact_rendering_folds_everything_and_shows_strings_as_text():
    assert render_value(inline("plain <b>"), compact=True) == (
        '<span class="v v-text">plain &lt;b&gt;</span>'
    )
    assert " open" not in render_value(inline([[1], [2]]), compact=True)


def test_short_text_and_sizes():
    assert short_text(inline({"type": "dict", "items": ["a", [1, 2]]})) == "{'a': [1, 2]}"
    assert short_text(inline("x" * 100), 10) == "'xxxxxxxx…"
    assert short_text({"type": "blob", "key": "k", "size": 2048, "refs": []}) == "<blob 2.0 KB>"
    assert [size(n) for n in (0, 999, 1000, 3_200_000, 5 * 10**9)] == [
        "0 B",
        "999 B",
        "1.0 KB",
        "3.2 MB",
        "5.0 GB",
    ]
