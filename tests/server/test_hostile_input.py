"""Odd input is refused with a 4xx and the usual error body, never a 500, on both databases:
IDs the channel layer or the database cannot take, numbers ``int`` reads but nothing else
does, text with NUL, and JSON nested deeper than anything should walk."""

from __future__ import annotations

import json

import pytest

from coflux_wire.validation import MAX_DEPTH
from coflux_wire.values import MAX_DATA_DEPTH
from runs.submission import submit_run
from runs.values import from_plain_json

pytestmark = pytest.mark.django_db

PROJECT = "/api/projects/default"
RUNS = f"{PROJECT}/workspaces/default/runs"
ODD_IDS = ["R1:2", "R%25x", "R%C3%BC", "R%00", "R" + "b" * 120, "R.b", "R%0A"]


def assert_refused(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) <= {"error", "message", "details"}
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    if code is not None:
        assert body["error"] == code


def submit_raw(api, argument: str):
    """Submit ``greet`` with the JSON text ``argument`` as its argument."""
    body = '{"module": "app.flows", "target": "greet", "arguments": [' + argument + "]}"
    return api.client.post(RUNS, body, content_type="application/json")


@pytest.fixture
def run_id(registered) -> str:
    return submit_run(registered, "app.flows", "greet", [from_plain_json("x")]).step.run_id


@pytest.mark.parametrize("run", ODD_IDS)
@pytest.mark.parametrize("endpoint", ["", "/result", "/logs", "/metrics"])
def test_an_odd_run_id_is_not_found(api, project, run, endpoint):
    response = api.client.get(f"{PROJECT}/runs/{run}{endpoint}", {"wait": "0.1"})

    assert 400 <= response.status_code < 500
    assert_refused(response, response.status_code)


@pytest.mark.parametrize("run", [r for r in ODD_IDS if r not in ("R%00", "R%0A")])
def test_an_odd_run_id_is_reported_as_an_unknown_run(api, project, run):
    assert_refused(api.client.get(f"{PROJECT}/runs/{run}/result"), 404, "run_not_found")


@pytest.mark.parametrize("execution", ["R1:2:3%00", "R%C3%BC:1:1", "R:1:1", "R1:0:1", "R1:1:1%0A"])
def test_an_odd_execution_id_is_not_found(api, project, execution):
    response = api.post(f"{PROJECT}/executions/{execution}/cancel")

    assert response.status_code in (400, 404)
    assert_refused(response, response.status_code)


@pytest.mark.parametrize("path", ["steps/R1%00:1/rerun", "assets/A%00", "assets/%C3%BC"])
def test_other_odd_ids_are_refused(api, project, path):
    response = api.client.post(f"{PROJECT}/{path}", "{}", content_type="application/json")
    if "assets" in path:
        response = api.client.get(f"{PROJECT}/{path}")

    assert response.status_code in (400, 404)
    assert_refused(response, response.status_code)


def test_a_nul_in_a_module_name_is_refused(api, registered):
    response = api.post(f"{PROJECT}/workspaces/default/manifests/app%00/archive")

    assert_refused(response, 400, "invalid_request")


ODD_QUERIES = [
    {"after": "²"},
    {"after": "٣"},
    {"after": "9" * 30},
    {"after": "-1"},
    {"execution": "\0"},
    {"x\0": "1"},
]


@pytest.mark.parametrize(
    "query", [*ODD_QUERIES, {"from": "1" * 30}, {"from": "²"}, {"wait": "nan"}]
)
def test_odd_query_values_are_refused_by_logs(api, run_id, query):
    assert_refused(api.get(f"{PROJECT}/runs/{run_id}/logs", **query), 400)


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_query_values_are_refused_by_metrics(api, run_id, query):
    assert_refused(api.get(f"{PROJECT}/runs/{run_id}/metrics", **query), 400)


def test_the_largest_cursor_and_time_are_accepted(api, run_id):
    response = api.get(f"{PROJECT}/runs/{run_id}/logs", after=2**63 - 1, **{"from": 10**14})

    assert response.status_code == 200
    assert response.json()["logs"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"module": "app\0flows", "target": "greet"},
        {"module": "app.flows", "target": "greet", "arguments": ["a\0b"]},
        {"module": "app.flows", "target": "greet", "arguments": [{"k\0": 1}]},
        {"module": "app.flows", "target": "greet", "idempotencyKey": "\0"},
        {"module": "app.flows", "target": "greet", "requires": {"gpu": ["\0"]}},
    ],
)
def test_a_nul_in_a_body_field_is_refused(api, registered, body):
    assert_refused(api.post(RUNS, body), 400, "invalid_request")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("workspaces", {"name": "a\0"}),
        ("workspaces/default/manifests", {"modules": {"m\0": []}}),
        ("assets", {"name": "\0", "entries": {"a": {"blobKey": "0" * 64, "size": 1}}}),
        ("assets", {"entries": {"a": {"blobKey": "0" * 64, "size": 1, "metadata": {"\0": 1}}}}),
    ],
)
def test_a_nul_in_any_body_is_refused(api, registered, path, body):
    assert_refused(api.post(f"{PROJECT}/{path}", body), 400, "invalid_request")


def test_a_lone_surrogate_is_refused(api, registered):
    response = submit_raw(api, '"\\ud800"')

    assert_refused(response, 400, "invalid_request")


@pytest.mark.parametrize("depth", [MAX_DEPTH, 1000, 100_000])
def test_deeply_nested_json_is_invalid(api, registered, depth):
    response = submit_raw(api, "[" * depth + "]" * depth)

    assert_refused(response, 400, "invalid_json")


def test_an_argument_nested_up_to_the_limit_of_the_wire_is_accepted(api, registered):
    nested: object = "deep"
    for _ in range(MAX_DATA_DEPTH):
        nested = [nested]

    response = api.post(RUNS, {"module": "app.flows", "target": "greet", "arguments": [nested]})

    assert response.status_code == 201, response.content


def test_an_argument_nested_deeper_than_the_wire_takes_is_refused(api, registered):
    nested: object = "deep"
    for _ in range(MAX_DATA_DEPTH // 2 + 1):
        nested = {"k": nested}

    response = api.post(RUNS, {"module": "app.flows", "target": "greet", "arguments": [nested]})

    assert_refused(response, 400, "invalid_arguments")


@pytest.mark.parametrize("number", ["1e400", "-1e400", str(2**63), str(-(2**63) - 1), "9" * 5000])
def test_numbers_beyond_what_is_stored_are_invalid(api, registered, number):
    response = submit_raw(api, number)

    assert_refused(response, 400, "invalid_json")


def test_64_bit_integers_are_accepted(api, registered):
    arguments = [[2**63 - 1, -(2**63)]]

    response = api.post(RUNS, {"module": "app.flows", "target": "greet", "arguments": arguments})

    assert response.status_code == 201, response.content


def test_a_json_error_message_is_json(api, registered):
    response = api.client.post(RUNS, "[" * 1000, content_type="application/json")

    assert_refused(response, 400, "invalid_json")
    json.dumps(response.json())
