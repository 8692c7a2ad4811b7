from __future__ import annotations

import pytest

import coflux as cf
from coflux._errors import execution_error, result_exception


class NeedsArguments(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code


class Outer:
    class Inner(Exception):
        pass


def error(error_type: str, message: str = "broken") -> dict:
    return {"type": error_type, "message": message, "frames": [], "retryable": None}


def test_an_error_of_a_builtin_type_is_caught_by_that_type():
    with pytest.raises(ValueError) as caught:
        raise execution_error(error("builtins.ValueError"))

    exc = caught.value
    assert isinstance(exc, cf.ExecutionError)
    assert (exc.error_type, exc.error_message) == ("builtins.ValueError", "broken")
    assert str(exc) == "broken"
    assert type(exc).__name__ == "ValueError"


@pytest.mark.parametrize(
    ("error_type", "base"),
    [
        ("builtins.KeyError", LookupError),
        ("builtins.FileNotFoundError", OSError),
        ("builtins.ZeroDivisionError", ArithmeticError),
    ],
)
def test_a_subclass_is_caught_by_its_bases(error_type, base):
    with pytest.raises(base):
        raise execution_error(error(error_type))


def test_an_importable_user_type_whose_init_takes_other_arguments_still_works():
    exc = execution_error(error(f"{__name__}.NeedsArguments", "(1, 'x')"))
    assert isinstance(exc, NeedsArguments)
    assert isinstance(exc, cf.ExecutionError)
    assert str(exc) == "(1, 'x')"


def test_nested_classes_are_found():
    assert isinstance(execution_error(error(f"{__name__}.Outer.Inner")), Outer.Inner)


@pytest.mark.parametrize(
    "error_type",
    ["no_such_module.Error", "builtins.NoSuchError", "builtins.len", "Unqualified", ""],
)
def test_a_type_that_cannot_be_found_gives_a_plain_execution_error(error_type):
    exc = execution_error(error(error_type))
    assert type(exc) is cf.ExecutionError


def test_the_derived_class_is_reused():
    first = execution_error(error("builtins.ValueError"))
    second = execution_error(error("builtins.ValueError"))
    assert type(first) is type(second)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("cancelled", cf.ExecutionCancelled),
        ("timeout", cf.ExecutionTimeout),
        ("abandoned", cf.ExecutionAbandoned),
    ],
)
def test_results_without_a_value_raise_terminated_errors(kind, cls):
    exc = result_exception({"type": kind}, "R1:2:1")
    assert isinstance(exc, cls)
    assert isinstance(exc, cf.ExecutionTerminated)
    assert not isinstance(exc, cf.ExecutionError)
    assert "R1:2:1" in str(exc)


@pytest.mark.parametrize("cls", [cf.ExecutionCancelled, cf.ExecutionTimeout, cf.ExecutionAbandoned])
def test_terminated_errors_are_made_with_a_message_as_the_reference_makes_them(cls):
    assert str(cls("the deployment was called off")) == "the deployment was called off"
    assert str(cls()).startswith("execution was ")


def test_a_dismissed_input_raises_input_dismissed_and_a_cancelled_one_cancelled():
    dismissed = result_exception({"type": "dismissed"}, "R1/i2")
    assert isinstance(dismissed, cf.InputDismissed)
    assert not isinstance(dismissed, cf.ExecutionTerminated)
    assert str(dismissed) == "input R1/i2 was dismissed"
    assert str(cf.InputDismissed()) == "input was dismissed"
    cancelled = result_exception({"type": "cancelled"}, "R1/i2")
    assert isinstance(cancelled, cf.ExecutionCancelled)
    assert str(cancelled) == "input R1/i2 was cancelled"
