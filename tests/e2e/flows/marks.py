"""Side effects that tests count across processes.

Executions run in worker processes, so they leave a file per occurrence in a directory the test
passes in as an argument; the test (and later attempts) count the files.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path


def mark(directory: str | Path, name: str) -> int:
    """Record one more occurrence of ``name``; return how many there have been."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.{uuid.uuid4().hex}").touch()
    return count(directory, name)


def count(directory: str | Path, name: str) -> int:
    return len(list(Path(directory).glob(f"{name}.*")))


def wait_for_mark(directory: str | Path, name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not count(directory, name):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {name!r} in {directory}")
        time.sleep(0.02)
