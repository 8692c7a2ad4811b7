"""Workflows for the submit form: typed parameters, defaults, and a docstring with markup."""

from __future__ import annotations

from typing import Literal

import coflux as cf


@cf.task()
def greeting(name: str, punctuation: str) -> str:
    return f"Hello, {name}{punctuation}"


@cf.workflow()
def greet(name: str, punctuation: str = "!") -> str:
    """Say hello to **someone**.

    <script>document.title = "docstring ran"</script>
    [a link](javascript:alert(1))
    """
    return greeting(name, punctuation)


@cf.workflow()
def typed(
    text: str,
    count: int = 2,
    ratio: float = 0.5,
    loud: bool = False,
    mode: Literal["fast", "slow"] = "fast",
    extra: dict[str, int] | None = None,
) -> dict:
    """Echo its arguments, to check how the form typed them."""
    return {
        "text": text,
        "count": count,
        "ratio": ratio,
        "loud": loud,
        "mode": mode,
        "extra": extra,
    }
