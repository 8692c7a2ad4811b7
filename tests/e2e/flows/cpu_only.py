"""A task hosted only by a worker without a GPU: it can run only where no GPU is required."""

from __future__ import annotations

import coflux as cf

from .routed import ancestors


@cf.task()
def cpu_where() -> list[int]:
    return ancestors()
