from __future__ import annotations

import coflux as cf


@cf.task()
def double(x: int) -> int:
    return x * 2
