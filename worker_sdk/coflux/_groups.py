"""``group``: label the calls made inside a block as one group of the execution."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._current import current


@contextlib.contextmanager
def group(name: str | None = None) -> Iterator[None]:
    """Calls submitted inside the block carry the execution's next group id, and ``name``.

    Groups nest: leaving an inner group restores the outer one. Outside an execution this does
    nothing.
    """
    context = current()
    if context is None:
        yield
        return
    with context.group(name):
        yield
