"""Studio's one value renderer: arguments, results and log values, drawn as what they are.

Values are in the wire format (``coflux._serialization``): JSON whose objects are typed
wrappers, plus references. The renderer turns one into escaped HTML, never fetching nor
decoding anything: JSON as a collapsible tree (``<details>``, no script needed); tuples, sets,
dicts with other keys than strings, datetimes, Decimals, UUIDs shown with their kind; bytes,
pickles and DataFrames (fragments in the blob store) by kind, type and size with a link to the
blob; a value kept in the blob store as a "Load" button that fetches the blob and has it drawn
by this same renderer (``render_blob``); execution references as links to their step, assets
as links to their page. Every piece of text goes through ``escape``: a value cannot inject
markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from runs.studio import links
from runs.values import from_plain_json

ITEMS_SHOWN = 100
"""Items of one collection drawn before "… N more"."""
NODES_SHOWN = 4000
"""Pieces of one value drawn at most; the rest is left out with a note."""
MAX_DEPTH = 40
LONG_STRING = 120
"""Strings longer than this (or with line breaks) fold behind their first line."""
MAX_STRING = 100_000
PREVIEW = 60
OPEN_DEPTH = 2
"""Collections nested less deep than this start unfolded."""

_TYPED_SCALARS = {
    "datetime": "datetime",
    "date": "date",
    "time": "time",
    "decimal": "Decimal",
    "uuid": "UUID",
}


def size(count: int | None) -> str:
    """A number of bytes for people: 820 B, 3.2 KB, 14 MB."""
    if not isinstance(count, int):
        return "? B"
    amount = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"


@dataclass
class _Budget:
    left: int = NODES_SHOWN


def render_value(value: Any, *, compact: bool = False) -> SafeString:
    """A wire value as HTML. ``compact`` (for a log line) folds every collection and shows a
    string at the top as its text, without quotes."""
    if not isinstance(value, dict):
        return mark_safe('<span class="v v-missing">no value</span>')
    refs = value.get("refs") if isinstance(value.get("refs"), list) else []
    if value.get("type") == "blob":
        return _blob_value(value, refs)
    if value.get("type") != "inline" or value.get("format", "json") != "json":
        return format_html('<span class="v v-missing">{}</span>', "unsupported value")
    data = value.get("data")
    if compact and isinstance(data, str):
        return format_html('<span class="v v-text">{}</span>', _clipped(data))
    renderer = _Renderer(refs, compact)
    return mark_safe(f'<div class="v-root">{renderer.render(data, 0)}</div>')


def render_blob(text: str, refs: Any, *, plain: bool = False) -> SafeString:
    """A value's data fetched from the blob store (``text``), drawn as ``render_value`` would
    draw it inline; ``plain`` for a fragment that holds plain JSON (a pydantic model)."""
    try:
        data = json.loads(text)
    except ValueError:
        return format_html('<span class="v v-missing">{}</span>', "not JSON: shown as text") + (
            format_html('<pre class="v-pre">{}</pre>', text[:MAX_STRING])
        )
    if plain:
        try:
            return render_value(from_plain_json(data))
        except TypeError:
            return format_html('<span class="v v-missing">{}</span>', "not a JSON value")
    refs = refs if isinstance(refs, list) else []
    return render_value({"type": "inline", "format": "json", "data": data, "refs": refs})


def short_text(value: Any, limit: int = PREVIEW) -> str:
    """A value as one short line of text (a group member's arguments, a tooltip)."""
    if not isinstance(value, dict):
        return "?"
    if value.get("type") == "blob":
        return f"<blob {size(value.get('size'))}>"
    refs = value.get("refs") if isinstance(value.get("refs"), list) else []
    return _preview(value.get("data"), refs, limit)


def plain_text(value: Any, limit: int = 1000) -> str:
    """A value as text for a downloaded log: a string as it is, anything else Python-like."""
    if isinstance(value, dict) and value.get("type") == "inline":
        data = value.get("data")
        if isinstance(data, str):
            return data
    return short_text(value, limit)


def _clipped(text: str) -> str:
    return text if len(text) <= MAX_STRING else text[:MAX_STRING] + "…"


def _blob_value(value: dict[str, Any], refs: list[Any]) -> SafeString:
    key = value.get("key") if isinstance(value.get("key"), str) else ""
    shown = size(value.get("size"))
    return format_html(
        '<span class="v v-blob" data-blob-loader>'
        '<span class="v-kind">blob</span> {} '
        '<button type="button" class="v-load" data-blob-url="{}" data-render-url="{}" '
        'data-refs="{}">Load {}</button> <a class="v-raw" href="{}">raw</a></span>',
        shown,
        links.blob_url(key),
        links.render_value_url(),
        json.dumps(refs),
        shown,
        links.blob_url(key),
    )


def _preview(data: Any, refs: list[Any], limit: int) -> str:
    """Short, Python-like text of wire data, cut at ``limit`` characters."""
    parts: list[str] = []
    length = 0

    def put(text: str) -> bool:
        nonlocal length
        parts.append(text)
        length += len(text)
        return length < limit

    def walk(item: Any) -> bool:
        if item is None or isinstance(item, bool | int | float | str):
            return put(repr(item) if not isinstance(item, bool) else str(item))
        if isinstance(item, list):
            return _sequence(item, "[", "]")
        if not isinstance(item, dict):
            return put("?")
        kind = item.get("type")
        items = item.get("items") if isinstance(item.get("items"), list) else []
        if kind == "dict":
            if not put("{"):
                return False
            for index in range(0, len(items) - 1, 2):
                if index and not put(", "):
                    return False
                if not walk(items[index]) or not put(": ") or not walk(items[index + 1]):
                    return False
            return put("}")
        if kind == "tuple":
            return _sequence(items, "(", ")")
        if kind in ("set", "frozenset"):
            return _sequence(items, "{", "}") if items else put(f"{kind}()")
        if kind == "ref":
            return put(_ref_text(_ref(refs, item)))
        if kind == "duration":
            return put(f"timedelta({item.get('value')}s)")
        return put(str(item.get("value")))

    def _sequence(items: list[Any], opening: str, closing: str) -> bool:
        if not put(opening):
            return False
        for index, item in enumerate(items):
            if index and not put(", "):
                return False
            if not walk(item):
                return False
        return put(closing)

    walk(data)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ref(refs: list[Any], item: dict[str, Any]) -> dict[str, Any]:
    index = item.get("index")
    if isinstance(index, int) and 0 <= index < len(refs) and isinstance(refs[index], dict):
        return refs[index]
    return {}


def _ref_text(ref: dict[str, Any]) -> str:
    kind = ref.get("type")
    if kind == "execution":
        return f"<execution {ref.get('id')}>"
    if kind == "asset":
        return f"<asset {ref.get('name') or ref.get('id')}>"
    if kind == "fragment":
        metadata = ref.get("metadata") if isinstance(ref.get("metadata"), dict) else {}
        named = metadata.get("type") or metadata.get("model") or ref.get("format")
        return f"<{named} {size(ref.get('size'))}>"
    return "<reference>"


class _Renderer:
    def __init__(self, refs: list[Any], compact: bool) -> None:
        self.refs = refs
        self.compact = compact
        self.budget = _Budget()

    def render(self, data: Any, depth: int) -> str:
        self.budget.left -= 1
        if self.budget.left < 0:
            return '<span class="v v-missing">…</span>'
        if data is None:
            return '<span class="v v-null">None</span>'
        if isinstance(data, bool):
            return f'<span class="v v-bool">{data}</span>'
        if isinstance(data, int | float):
            return f'<span class="v v-num">{escape(repr(data))}</span>'
        if isinstance(data, str):
            return self._string(data)
        if depth > MAX_DEPTH:
            return '<span class="v v-missing">… (nested too deep)</span>'
        if isinstance(data, list):
            return self._collection("list", data, depth)
        if not isinstance(data, dict):
            return '<span class="v v-missing">?</span>'
        kind = data.get("type")
        items = data.get("items") if isinstance(data.get("items"), list) else []
        if kind == "dict":
            return self._dict(items, depth)
        if kind in ("tuple", "set", "frozenset"):
            return self._collection(kind, items, depth)
        if kind == "ref":
            return self._reference(_ref(self.refs, data))
        if kind in _TYPED_SCALARS:
            return self._typed(_TYPED_SCALARS[kind], str(data.get("value")))
        if kind == "duration":
            return self._typed("timedelta", f"{data.get('value')} s")
        if kind == "float":
            return f'<span class="v v-num">{escape(str(data.get("value")))}</span>'
        return format_html('<span class="v v-missing">{}</span>', f"unknown {kind!r}")

    def _string(self, text: str) -> str:
        if len(text) <= LONG_STRING and "\n" not in text:
            return format_html('<span class="v v-str">{}</span>', repr(text))
        first = text.split("\n", 1)[0][:PREVIEW]
        return format_html(
            '<details class="v-long"><summary><span class="v v-str">{}…</span> '
            '<span class="v-count">{} characters</span></summary><pre class="v-pre">{}</pre>'
            "</details>",
            repr(first)[:-1],
            len(text),
            _clipped(text),
        )

    def _typed(self, kind: str, text: str) -> str:
        return format_html(
            '<span class="v v-typed"><span class="v-kind">{}</span> {}</span>', kind, text
        )

    def _summary(self, kind: str, count: int, items: Any) -> str:
        preview = _preview(items, self.refs, PREVIEW)
        noun = "item" if count == 1 else "items"
        return format_html(
            '<span class="v-kind">{}</span> <span class="v-count">{} {}</span> '
            '<span class="v-preview">{}</span>',
            kind,
            count,
            noun,
            preview,
        )

    def _opening(self, depth: int) -> str:
        return " open" if not self.compact and depth < OPEN_DEPTH else ""

    def _collection(self, kind: str, items: list[Any], depth: int) -> str:
        if not items:
            empty = {"list": "[]", "tuple": "()", "set": "set()", "frozenset": "frozenset()"}
            return f'<span class="v v-empty">{empty.get(kind, kind)}</span>'
        wrapped: Any = items if kind == "list" else {"type": kind, "items": items}
        summary = self._summary(kind, len(items), wrapped)
        rows = "".join(f"<li>{self.render(item, depth + 1)}</li>" for item in items[:ITEMS_SHOWN])
        more = self._more(len(items))
        tag = "ol" if kind in ("list", "tuple") else "ul"
        return (
            f'<details class="v-coll v-{kind}"{self._opening(depth)}><summary>{summary}</summary>'
            f'<{tag} class="v-items">{rows}{more}</{tag}></details>'
        )

    def _dict(self, items: list[Any], depth: int) -> str:
        pairs = list(zip(items[::2], items[1::2], strict=False))
        if not pairs:
            return '<span class="v v-empty">{}</span>'
        plain_keys = all(isinstance(key, str) for key, _ in pairs)
        summary = self._summary("dict", len(pairs), {"type": "dict", "items": items})
        rows = []
        for key, item in pairs[:ITEMS_SHOWN]:
            shown_key = (
                format_html('<span class="v-key">{}</span>', key)
                if plain_keys
                else self.render(key, depth + 1)
            )
            rows.append(f"<div><dt>{shown_key}</dt><dd>{self.render(item, depth + 1)}</dd></div>")
        more = self._more(len(pairs))
        kind_class = "v-dict" if plain_keys else "v-dict v-keyed"
        return (
            f'<details class="v-coll {kind_class}"{self._opening(depth)}>'
            f'<summary>{summary}</summary><dl class="v-pairs">{"".join(rows)}{more}</dl></details>'
        )

    @staticmethod
    def _more(count: int) -> str:
        if count <= ITEMS_SHOWN:
            return ""
        return f'<p class="v-more">… {count - ITEMS_SHOWN} more</p>'

    def _reference(self, ref: dict[str, Any]) -> str:
        kind = ref.get("type")
        if kind == "execution":
            execution = str(ref.get("id") or "")
            target = "/".join(str(ref[k]) for k in ("module", "target") if ref.get(k))
            return format_html(
                '<span class="v v-ref"><span class="v-kind">execution</span> '
                '<a href="{}" data-step="{}">{}</a> <span class="v-target">{}</span></span>',
                links.execution_url(execution),
                execution.rsplit(":", 1)[0],
                execution,
                target,
            )
        if kind == "asset":
            asset = str(ref.get("id") or "")
            count = ref.get("count")
            files = f"{count} file{'s' if count != 1 else ''}" if isinstance(count, int) else ""
            return format_html(
                '<span class="v v-ref"><span class="v-kind">asset</span> '
                '<a href="{}">{}</a> <span class="v-count">{} · {}</span></span>',
                links.asset_url(asset),
                ref.get("name") or asset,
                files,
                size(ref.get("size")),
            )
        if kind == "fragment":
            return self._fragment(ref)
        return '<span class="v v-missing">unknown reference</span>'

    def _fragment(self, ref: dict[str, Any]) -> str:
        """Bytes, a pydantic model, a DataFrame or a pickle, kept in the blob store."""
        key = str(ref.get("key") or "")
        metadata = ref.get("metadata") if isinstance(ref.get("metadata"), dict) else {}
        form = ref.get("format")
        shown = size(ref.get("size"))
        if form == "json":
            return format_html(
                '<span class="v v-fragment" data-blob-loader><span class="v-kind">model</span> '
                '<span class="v-type">{}</span> {} '
                '<button type="button" class="v-load" data-blob-url="{}" data-render-url="{}" '
                'data-plain="1">Load {}</button></span>',
                metadata.get("model") or "pydantic model",
                shown,
                links.blob_url(key),
                links.render_value_url(),
                shown,
            )
        kind, named = {
            "bytes": ("bytes", metadata.get("type") or ""),
            "parquet": ("DataFrame", "parquet"),
            "pickle": ("pickle", metadata.get("type") or "?"),
        }.get(str(form), (str(form), ""))
        return format_html(
            '<span class="v v-fragment"><span class="v-kind">{}</span> '
            '<span class="v-type">{}</span> {} <a class="v-raw" href="{}" download>download</a>'
            "</span>",
            kind,
            named,
            shown,
            links.blob_url(key),
        )
