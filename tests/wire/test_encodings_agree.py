"""A plain JSON value submitted through the API and the same value passed by a task are one
value on the wire, with one cache key: the server and the SDK encode it with the same code."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coflux._blobs import Blobs, MemoryStore
from coflux._serialization import deserialize, serialize
from coflux_wire import protocol
from runs.keys import cache_key
from runs.values import from_plain_json
from tests.wire.messages import valid

# What a JSON parser gives: text of any kind (NUL and lone surrogates among it), integers of any
# size, floats of any value, objects with string keys.
TEXT = st.text() | st.text(st.characters(codec=None, categories=["Cs", "Cc"]))
PLAIN_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
INLINE = Blobs([MemoryStore()], threshold=10**9)
CACHE = {"params": None, "namespace": None, "version": None}


def by_the_sdk(value):
    return serialize(value, blobs=INLINE)


@settings(max_examples=500)
@given(PLAIN_JSON)
def test_the_server_and_the_sdk_encode_plain_json_identically(value):
    assert from_plain_json(value) == by_the_sdk(value)


@settings(max_examples=300)
@given(st.lists(PLAIN_JSON, min_size=1, max_size=3))
def test_they_give_identical_cache_keys(arguments):
    from_the_api = [from_plain_json(a) for a in arguments]
    from_a_task = [by_the_sdk(a) for a in arguments]
    assert cache_key("app.flows", "inc", from_the_api, CACHE) == cache_key(
        "app.flows", "inc", from_a_task, CACHE
    )


@settings(max_examples=300)
@given(PLAIN_JSON)
def test_the_value_passes_the_boundary_and_reads_back(value):
    message = valid("submit", arguments=[from_plain_json(value)])
    (received,) = protocol.messages_of(protocol.encode(message))
    (argument,) = protocol.validate(received)["arguments"]
    assert same(deserialize(argument, blobs=INLINE), value)


def same(a, b) -> bool:
    """Equality that takes NaN as equal to itself."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b
