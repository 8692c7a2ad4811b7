"""A task whose first attempt never ends: the test kills its worker meanwhile.

Hosted on its own by the workers of that test, so the workflow calling it (in ``durable``, via
a stub) runs elsewhere and survives the kill.
"""

from __future__ import annotations

import time

import coflux as cf

from .marks import mark


@cf.task(retries=1)
def crash_once(directory: str) -> int:
    attempt = mark(directory, "crash_once")
    if attempt == 1:
        time.sleep(60)
    return attempt
