"""How many examples each fuzz tries.

The suite's default keeps its run well within CI's time; ``COFLUX_FUZZ_SCALE`` multiplies
every count for a longer search (``COFLUX_FUZZ_SCALE=10 ./scripts/test -k fuzz``).
"""

from __future__ import annotations

import os

SCALE = float(os.environ.get("COFLUX_FUZZ_SCALE", "1"))


def examples(count: int) -> int:
    """``count`` examples, scaled; at least one."""
    return max(1, round(count * SCALE))
