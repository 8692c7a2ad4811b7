"""Stubs of targets hosted by another module (``tests.e2e.flows.doubler``)."""

from __future__ import annotations

import coflux as cf


@cf.stub("tests.e2e.flows.doubler")
def double(x: int) -> int: ...
