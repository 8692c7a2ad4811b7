"""Retry backoff, recurrence and routing decisions (no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from runs.keys import defer_key, execution_refs, memo_key
from runs.orchestration.policies import (
    effective_requires,
    recurs,
    retry_delay_ms,
    session_fits,
)


def retries(limit, low_s, high_s):
    return {"limit": limit, "backoff_min_ms": low_s * 1000, "backoff_max_ms": high_s * 1000}


def test_the_specs_worked_example_of_a_limited_backoff():
    """Retries(5, backoff=(300, 600)): gaps 300, 375, 450, 525, 600 s; then no more."""
    policy = retries(5, 300, 600)
    clock = datetime(2026, 1, 1, tzinfo=UTC)
    attempts = [clock]
    failures = 0
    while (delay := retry_delay_ms(policy, failures)) is not None:
        clock += timedelta(milliseconds=delay)
        attempts.append(clock)
        failures += 1
    offsets = [(moment - attempts[0]).total_seconds() for moment in attempts]
    assert offsets == [0, 300, 675, 1125, 1650, 2250]


def test_an_integer_limit_retries_at_once_and_stops_at_the_limit():
    assert [retry_delay_ms(retries(2, 0, 0), n) for n in range(3)] == [0, 0, None]


def test_a_limit_of_one_waits_the_minimum():
    assert retry_delay_ms(retries(1, 2, 10), 0) == 2000


def test_unlimited_retries_pick_a_delay_within_the_backoff():
    policy = {"limit": None, "backoff_min_ms": 1000, "backoff_max_ms": 60000}
    rng = random.Random(7)
    delays = [retry_delay_ms(policy, n, rng) for n in range(50)]
    assert all(1000 <= d <= 60000 for d in delays) and len(set(delays)) > 1


def test_no_policy_means_no_retry():
    assert retry_delay_ms(None, 0) is None


def test_only_a_none_value_recurs_and_only_for_recurrent_targets():
    none = {"type": "value", "value": {"type": "inline", "data": None, "refs": []}}
    one = {"type": "value", "value": {"type": "inline", "data": 1, "refs": []}}
    assert recurs({"recurrent": True}, none)
    assert not recurs({"recurrent": True}, one)
    assert not recurs({"recurrent": False}, none)
    assert not recurs({"recurrent": True}, {"type": "error"})


def test_step_requires_overlay_the_runs_and_empty_keys_unset():
    run = {"gpu": ["a100"], "region": ["eu"]}
    assert effective_requires(run, {"gpu": []}) == {"region": ["eu"]}
    assert effective_requires(run, {"gpu": ["h100"]}) == {"gpu": ["h100"], "region": ["eu"]}
    assert effective_requires(None, None) == {}


def test_a_session_fits_when_it_provides_every_required_key():
    assert session_fits({"gpu": ["a100", "h100"]}, {}, {"gpu": ["h100"]})
    assert not session_fits({}, {}, {"gpu": ["h100"]})
    assert not session_fits({"gpu": ["t4"]}, {}, {"gpu": ["h100"]})
    assert session_fits({"gpu": ["t4"]}, {}, {})


def test_a_session_that_accepts_a_key_only_takes_work_requiring_it():
    assert not session_fits({}, {"tier": ["batch"]}, {})
    assert session_fits({}, {"tier": ["batch"]}, {"tier": ["batch"]})
    assert not session_fits({}, {"tier": ["batch"]}, {"tier": ["urgent"]})


def wire(data, refs=()):
    return {"type": "inline", "format": "json", "data": data, "refs": list(refs)}


def test_memo_keys_depend_on_selected_parameter_positions_only():
    a = memo_key("m", "t", [wire(1), wire("x")], [0])
    assert a == memo_key("m", "t", [wire(1), wire("y")], [0])
    assert a != memo_key("m", "t", [wire(2), wire("x")], [0])
    assert memo_key("m", "t", [wire(1)], None) == ""
    assert memo_key("m", "t", [wire({"a": 1, "b": 2})], True) == memo_key(
        "m", "t", [wire({"b": 2, "a": 1})], True
    )


def test_defer_keys_cover_the_named_parameters():
    assert defer_key("m", "t", [wire(1), wire(2)], {"params": [0]}) == defer_key(
        "m", "t", [wire(1), wire(3)], {"params": [0]}
    )
    assert defer_key("m", "t", [wire(1)], None) == ""


def test_execution_references_are_found_in_wire_values():
    ref = {"type": "execution", "id": "R1:2:1", "module": "m", "target": "t"}
    values = [wire({"type": "ref", "index": 0}, [ref]), wire(1), wire(None, [ref])]
    assert execution_refs(values) == ["R1:2:1"]
