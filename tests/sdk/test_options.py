from __future__ import annotations

import datetime as dt

import pytest

import coflux as cf


def options_of(target: cf.task) -> dict:
    return target.definition["options"]


def test_it_normalises_defaults():
    @cf.task()
    def plain(a, b):
        pass

    assert options_of(plain) == {
        "wait": None,
        "cache": None,
        "retries": None,
        "defer": None,
        "delay_ms": 0,
        "memo": None,
        "requires": None,
        "timeout_ms": 0,
        "recurrent": False,
    }


def test_it_normalises_every_option():
    @cf.task(
        wait="b, a",
        cache=cf.Cache(dt.timedelta(minutes=1), params=["b"], namespace="ns", version="2"),
        retries=cf.Retries(5, backoff=(300, 600)),
        defer=cf.Defer(params="a"),
        delay=1.5,
        memo=["a"],
        requires={"gpu": ["A100", "H100"], "fast": True, "slow": False, "region": "eu"},
        timeout=dt.timedelta(seconds=2),
        recurrent=True,
    )
    def full(a, b):
        pass

    assert options_of(full) == {
        "wait": [1, 0],
        "cache": {"params": [1], "max_age_ms": 60000, "namespace": "ns", "version": "2"},
        "retries": {"limit": 5, "backoff_min_ms": 300000, "backoff_max_ms": 600000},
        "defer": {"params": [0]},
        "delay_ms": 1500,
        "memo": [0],
        "requires": {
            "gpu": ["A100", "H100"],
            "fast": ["true"],
            "slow": ["false"],
            "region": ["eu"],
        },
        "timeout_ms": 2000,
        "recurrent": True,
    }


@pytest.mark.parametrize(
    ("cache", "expected"),
    [
        (False, None),
        (0, None),
        (True, {"params": [0, 1], "max_age_ms": None, "namespace": None, "version": None}),
        (30, {"params": [0, 1], "max_age_ms": 30000, "namespace": None, "version": None}),
        (
            dt.timedelta(hours=1),
            {"params": [0, 1], "max_age_ms": 3600000, "namespace": None, "version": None},
        ),
    ],
)
def test_it_accepts_the_shorthands_for_cache(cache, expected):
    @cf.task(cache=cache)
    def cached(a, b):
        pass

    assert options_of(cached)["cache"] == expected


@pytest.mark.parametrize(
    ("retries", "expected"),
    [
        (0, None),
        (False, None),
        (cf.Retries(limit=0), None),
        (True, {"limit": None, "backoff_min_ms": 1000, "backoff_max_ms": 60000}),
        (3, {"limit": 3, "backoff_min_ms": 0, "backoff_max_ms": 0}),
        (cf.Retries(), {"limit": None, "backoff_min_ms": 1000, "backoff_max_ms": 60000}),
    ],
)
def test_it_accepts_the_shorthands_for_retries(retries, expected):
    @cf.task(retries=retries)
    def flaky():
        pass

    assert options_of(flaky)["retries"] == expected


def test_wait_true_selects_every_parameter_and_defer_true_all_of_them():
    @cf.task(wait=True, defer=True)
    def both(a, b, c):
        pass

    assert options_of(both)["wait"] == [0, 1, 2]
    assert options_of(both)["defer"] == {"params": [0, 1, 2]}


def test_explicit_memo_false_is_kept_apart_from_unspecified():
    @cf.task(memo=False)
    def never(a):
        pass

    @cf.task(memo=True)
    def always(a):
        pass

    assert options_of(never)["memo"] is False
    assert options_of(always)["memo"] is True


def test_a_workflow_takes_memo_as_a_bool_only():
    @cf.workflow(memo=True)
    def memoised(a):
        pass

    assert options_of(memoised)["memo"] is True
    with pytest.raises(TypeError, match="bool"):
        cf.workflow(memo=["a"])(lambda a: None)


UNENCODABLE = object()


def test_it_records_parameters_annotations_defaults_and_the_docstring():
    @cf.workflow(name="renamed")
    def described(count: int, label: str = "x", when=None, pair=(1, 2), odd=UNENCODABLE):
        """Count things.

        In detail.
        """

    definition = described.definition
    assert definition["name"] == "renamed"
    assert definition["type"] == "workflow"
    assert definition["instruction"] == "Count things.\n\nIn detail."
    assert definition["parameters"] == [
        {"name": "count", "annotation": "int", "default": None},
        {"name": "label", "annotation": "str", "default": '"x"'},
        {"name": "when", "annotation": None, "default": "null"},
        {"name": "pair", "annotation": None, "default": "[1, 2]"},
        {"name": "odd", "annotation": None, "default": None},
    ]


def test_it_exposes_name_module_and_fn():
    def body(x):
        return x

    target = cf.task(name="other")(body)
    assert (target.name, target.module, target.fn) == ("other", __name__, body)


@pytest.mark.parametrize(
    "decorate",
    [
        lambda: cf.task(wait="missing"),
        lambda: cf.task(memo="a, missing"),
        lambda: cf.task(cache=cf.Cache(params=["missing"])),
        lambda: cf.task(defer=cf.Defer(params="missing")),
    ],
)
def test_unknown_parameter_names_fail_at_decoration(decorate):
    with pytest.raises(ValueError, match="missing"):
        decorate()(lambda a: None)


@pytest.mark.parametrize(
    "fn",
    [
        lambda *args: None,
        lambda **kwargs: None,
        lambda a, *, b: None,
        lambda a, /, b: None,
    ],
)
def test_parameters_must_be_positional_or_keyword(fn):
    with pytest.raises(TypeError, match="positional-or-keyword"):
        cf.task()(fn)


@pytest.mark.parametrize(
    "options",
    [
        {"delay": -1},
        {"timeout": "soon"},
        {"retries": -2},
        {"retries": cf.Retries(backoff=(10, 1))},
        {"retries": cf.Retries(when="ValueError")},
        {"cache": "yes"},
        {"requires": {"gpu": 3}},
        {"recurrent": "yes"},
    ],
)
def test_invalid_option_values_fail_at_decoration(options):
    with pytest.raises((TypeError, ValueError)):
        cf.task(**options)(lambda a: None)


def test_the_decorator_must_be_called():
    with pytest.raises(TypeError, match="parentheses"):

        @cf.task
        def bare():
            pass


def test_a_name_is_used_once_per_module():
    cf.task(name="clash_name")(lambda: 1)

    def other():
        pass

    with pytest.raises(ValueError, match="already used"):
        cf.task(name="clash_name")(other)


def test_with_methods_return_modified_copies():
    @cf.task()
    def base(a, b):
        pass

    changed = (
        base.with_cache(True)
        .with_retries(2)
        .with_defer(cf.Defer(params="b"))
        .with_memo("a")
        .with_delay(3)
        .with_timeout(dt.timedelta(seconds=4))
        .with_requires({"gpu": True})
    )

    assert options_of(changed) == {
        "wait": None,
        "cache": {"params": [0, 1], "max_age_ms": None, "namespace": None, "version": None},
        "retries": {"limit": 2, "backoff_min_ms": 0, "backoff_max_ms": 0},
        "defer": {"params": [1]},
        "delay_ms": 3000,
        "memo": [0],
        "requires": {"gpu": ["true"]},
        "timeout_ms": 4000,
        "recurrent": False,
    }
    assert options_of(base)["cache"] is None
    assert changed.name == base.name and changed.fn is base.fn


def test_a_stub_names_another_module_and_has_no_requires_or_timeout():
    @cf.stub("elsewhere.module", name="remote", type="workflow", retries=2)
    def remote(x: int) -> int:
        return x

    assert (remote.module, remote.name, remote.type) == ("elsewhere.module", "remote", "workflow")
    assert options_of(remote)["retries"] == {"limit": 2, "backoff_min_ms": 0, "backoff_max_ms": 0}
    assert options_of(remote)["requires"] is None
    with pytest.raises(TypeError):
        cf.stub("elsewhere.module", timeout=3)
