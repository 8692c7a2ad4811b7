"""A fuzz of the REST API against a real ``manage.py serve``, on the database the suite runs on.

Every endpoint of ``coflux_server.api_urls`` and the blob store gets random and mutated
requests: any method; path parameters that name real things, mutations of those, or hostile
text; query strings with odd numbers and text; bodies that are valid ones with a field
changed, random JSON (non-finite numbers, huge integers, NUL, lone surrogates, deep nesting),
or not JSON at all. No answer may be a 5xx, every error is ``{"error", "message",
"details"?}``, the server logs no unexpected error and its memory stays bounded.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coflux_server.api_urls import urlpatterns
from coflux_server.api_views import not_found
from tests.fuzzing import examples
from tests.json_paths import at, places
from tests.processes import AUTH, Server
from tests.sample_targets import GREET

BLOB = b"a blob for the fuzz\n"
BLOB_KEY = hashlib.sha256(BLOB).hexdigest()
METHODS = st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"])


@dataclass(frozen=True)
class Seeded:
    """What the fuzzed server holds: a run of ``greet`` and an asset."""

    server: Server
    run_id: str
    asset_id: str

    @property
    def step_id(self) -> str:
        return f"{self.run_id}:1"

    @property
    def execution_id(self) -> str:
        return f"{self.run_id}:1:1"


def memory_mb(server: Server) -> float:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024  # type: ignore[index]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    server = Server(tmp_path_factory.mktemp("fuzz"), COFLUX_LAUNCHER_TYPES="docker").start()
    try:
        api = f"{server.url}/api/projects/default"
        manifest = {"modules": {"app.flows": [GREET]}}
        httpx.post(f"{api}/workspaces", json={"name": "dev", "base": "default"}, headers=AUTH)
        for workspace in ("default", "dev"):
            registered = httpx.post(
                f"{api}/workspaces/{workspace}/manifests", json=manifest, headers=AUTH
            )
            registered.raise_for_status()
        run = {"module": "app.flows", "target": "greet", "arguments": ["fuzz"]}
        run_id = httpx.post(f"{api}/workspaces/default/runs", json=run, headers=AUTH).json()[
            "runId"
        ]
        httpx.post(f"{api}/workspaces/default/pools", json=POOL, headers=AUTH).raise_for_status()
        httpx.put(f"{server.url}/blobs/{BLOB_KEY}", content=BLOB, headers=AUTH).raise_for_status()
        entries = {"a.txt": {"blobKey": BLOB_KEY, "size": len(BLOB)}}
        asset_id = httpx.post(f"{api}/assets", json={"entries": entries}, headers=AUTH).json()["id"]
        yield Seeded(server, run_id, asset_id)
    finally:
        server.close()


# --- what requests are made of ---------------------------------------------------------------

HOSTILE_TEXT = st.sampled_from(
    ["", "\x00", "a\x00b", "\ud800", "é☕\U0001f600", "%", "%00", ":", "..", "../..", "a/b", "²"]
)
TEXT = st.text(max_size=12) | HOSTILE_TEXT | st.text(max_size=150)
NUMBERS_AS_TEXT = st.sampled_from(
    ["0", "-1", "1.5", "²", "٣", "1e400", "nan", "inf", str(2**63), str(2**63 - 1), "9" * 30]
) | st.integers(min_value=-(2**70), max_value=2**70).map(str)
INTEGERS = st.integers(min_value=-10, max_value=100) | st.sampled_from(
    [2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]
)
LEAVES = st.none() | st.booleans() | INTEGERS | st.floats() | TEXT


def nested(levels: int) -> Any:
    data: Any = "deep"
    for _ in range(levels):
        data = [data] if levels % 2 else {"k": data}
    return data


JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=10,
) | st.integers(min_value=30, max_value=200).map(nested)


def mostly(common: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    """``common`` four times in five, ``other`` the fifth: most requests should get past the
    first check to reach the code behind it."""
    return st.sampled_from(range(5)).flatmap(lambda n: other if n == 0 else common)


def ids(seeded: Seeded) -> dict[str, st.SearchStrategy[str]]:
    """Path parameters by name: mostly real names, else mutations of them or hostile text."""

    def around(*real: str) -> st.SearchStrategy[str]:
        known = st.sampled_from(real)
        mutations = st.builds(lambda a, b: a + b, known, TEXT) | known.map(lambda s: s[:-1])
        return mostly(known, mutations | TEXT)

    return {
        "project": mostly(st.just("default"), st.sampled_from(["other", "x" * 60]) | TEXT),
        "workspace": around("default", "dev", "DEV", "dev/runs", "nowhere"),
        "module": around("app.flows"),
        "run_id": around(seeded.run_id, "R" + "b" * 40),
        "step_id": around(seeded.step_id, f"{seeded.run_id}:99", f"{seeded.run_id}:0"),
        "execution_id": around(seeded.execution_id, f"{seeded.run_id}:1:7"),
        "asset_id": around(seeded.asset_id),
        "pool": around("gpu", "nothing"),
        "token_id": around("1", "999999"),
        "number": around("i1", "i99", "x1"),
        "key": around(BLOB_KEY, "0" * 64, BLOB_KEY.upper()),
        "path": TEXT,
    }


SUBMISSIONS = [
    {"module": "app.flows", "target": "greet", "arguments": ["x"], "delay": 0.01},
    {"module": "app.flows", "target": "greet", "arguments": ["x"], "idempotencyKey": "k"},
    {"module": "app.flows", "target": "greet", "requires": {"gpu": ["a"]}, "retries": 1},
]
POOL = {"name": "gpu", "type": "docker", "modules": ["never.hosted"], "fields": {"image": "i"}}
RENAMES = [{"name": "renamed"}, {"base": None}, {"base": "dev"}, {"name": "dev/x", "base": None}]
VALID_BODIES: dict[str, list[Any]] = {
    "/runs": SUBMISSIONS,
    "/workspaces": [{"name": "fuzzed", "base": "default"}, {"name": "dev"}],
    "/manifests": [{"modules": {"app.other": [GREET]}}],
    "/assets": [
        {"entries": {"b/c.txt": {"blobKey": BLOB_KEY, "size": 1, "metadata": {"type": "a"}}}},
        {"name": "x", "executionId": "R1:1:1", "entries": {"a": {"blobKey": BLOB_KEY, "size": 0}}},
    ],
    "/rerun": [{"workspace": "dev"}, {}],
    "/pools": [{**POOL, "name": "gpu2"}],
    "/import": [{"pools": {"gpu3": {"type": "docker", "fields": {"image": "i"}}}, "dryRun": True}],
    "<str:pool>": [{"set": {"concurrency": 2, "env.X": "1"}}, {"unset": ["env.X"]}],
    "<path:workspace>": RENAMES,
}
"""Bodies each endpoint takes, by how its path ends; others take ``{}`` (or PATCH a rename)."""


def valid_bodies(template: str) -> list[Any]:
    for end, bodies in VALID_BODIES.items():
        if template.endswith(end):
            return bodies
    return [{}, *RENAMES]


@st.composite
def mutated_body(draw: st.DrawFn, valid: list[Any]) -> Any:
    """A valid body with one or two leaves replaced, keys dropped or added."""
    body = json.loads(json.dumps(draw(st.sampled_from(valid))))
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        spots = places(body)
        if not spots:
            body[draw(TEXT)] = draw(JSON)
            continue
        path = draw(st.sampled_from(spots))
        parent = at(body, path[:-1])
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON)
    return body


def as_json(data: Any) -> bytes:
    return json.dumps(data, allow_nan=True).encode()


def bodies(template: str) -> st.SearchStrategy[bytes | None]:
    valid = valid_bodies(template)
    return mostly(
        st.sampled_from(valid).map(as_json) | mutated_body(valid).map(as_json),
        st.none()
        | JSON.map(as_json)
        | st.binary(max_size=200)
        | st.integers(min_value=100, max_value=100_000).map(lambda n: b"[" * n + b"]" * n),
    )


CONTENT_TYPES = mostly(
    st.just("application/json"),
    st.sampled_from(["text/plain", "application/x-www-form-urlencoded", None]),
)


def query_values(key: str) -> st.SearchStrategy[str]:
    if key == "wait":
        # A long wait on an unfinished run is held that long: keep waits short or invalid.
        return NUMBERS_AS_TEXT.filter(_not_a_long_wait) | st.just("0.05")
    return NUMBERS_AS_TEXT | TEXT


def _not_a_long_wait(text: str) -> bool:
    try:
        wait = float(text)
    except ValueError:
        return True
    return not (math.isfinite(wait) and wait > 0.2)


@st.composite
def queries(draw: st.DrawFn) -> dict[str, str]:
    names = st.sampled_from(["wait", "after", "from", "execution", "project"]) | TEXT
    keys = draw(mostly(st.just([]), st.lists(names, max_size=3)))
    return {key: draw(query_values(key)) for key in keys}


def endpoints() -> list[tuple[str, list[str]]]:
    """The API's paths as ``api_urls`` declares them, and the blob store's, each with the
    methods its view takes."""
    found = []
    for pattern in urlpatterns:
        view = pattern.callback
        if view is not_found:
            continue
        drf = getattr(view, "cls", None)
        methods = [m.upper() for m in drf.http_method_names] if drf is not None else ["GET"]
        found.append((f"/api/{pattern.pattern}", methods))
    return [*found, ("/api/<path:path>", ["GET"]), ("/blobs/<str:key>", ["PUT", "GET", "HEAD"])]


PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


@st.composite
def requests(draw: st.DrawFn, seeded: Seeded) -> tuple[str, str, dict[str, str], Any, Any]:
    template, methods = draw(st.sampled_from(endpoints()))
    values = ids(seeded)

    def fill(match: re.Match[str]) -> str:
        converter, name = match.groups()
        safe = "/" if converter == "path" else ""
        # Dots escaped too, or the client would resolve '..' and leave the API.
        value = quote(draw(values[name]), safe=safe, errors="surrogatepass")
        return value.replace(".", "%2E")

    path = PARAMETER.sub(fill, template)
    method = draw(mostly(st.sampled_from(methods), METHODS))
    return method, path, draw(queries()), draw(bodies(template)), draw(CONTENT_TYPES)


# --- the fuzz --------------------------------------------------------------------------------


def assert_answered(response: httpx.Response) -> None:
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{request}: {response.status_code} {response.text[:500]}"
    if response.status_code < 400 or response.request.method == "HEAD":
        return
    assert response.headers.get("content-type") == "application/json", request
    body = response.json()
    assert set(body) <= {"error", "message", "details"}, (request, body)
    assert isinstance(body["error"], str) and isinstance(body["message"], str), (request, body)
    assert isinstance(body.get("details", {}), dict), (request, body)


@pytest.mark.timeout(300)
def test_the_api_answers_every_request_without_a_server_error(seeded):
    server = seeded.server
    before = memory_mb(server)

    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client:

        @settings(
            max_examples=examples(600),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(requests(seeded))
        def fuzz(request: tuple[str, str, dict[str, str], Any, Any]) -> None:
            method, path, query, body, content_type = request
            headers = {"Content-Type": content_type} if content_type else {}
            if query:
                path += "?" + urlencode(query, errors="surrogatepass")
            response = client.request(method, path, content=body, headers=headers)
            assert_answered(response)

        fuzz()

    log = server.log.read_text()
    assert "unexpected error" not in log
    assert "Internal Server Error" not in log
    assert "Traceback" not in log
    assert memory_mb(server) - before < 100
