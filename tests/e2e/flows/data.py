"""Targets moving data: large values through the blob store, and files as assets.

Writers run only on a worker providing ``role:writer``, readers on one providing
``role:reader``, so an asset written by one is restored by another worker.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import coflux as cf

FILES = {
    "reports/2024.csv": b"year,total\n2024,17\n",
    "reports/2025.csv": b"year,total\n2025,23\n",
    "reports/deep/summary.json": b'{"total": 40}',
    "notes.txt": b"just notes",
    "image.bin": bytes(range(256)) * 64,
}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cf.task()
def noise(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@cf.task()
def measure(data: bytes) -> dict[str, object]:
    return {"size": len(data), "sha256": digest(data)}


@cf.workflow()
def big_bytes(size: int) -> dict[str, object]:
    """A large result comes back to the workflow, which passes it on as an argument."""
    data = noise(size, 7)
    return {
        "received": digest(data) == digest(random.Random(7).randbytes(size)),
        "measured": measure(data),
    }


@cf.task(requires={"role": "writer"})
def write_files() -> cf.Asset:
    for relative, content in FILES.items():
        path = Path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return cf.asset(name="reports")


@cf.task(requires={"role": "reader"})
def restore(asset: cf.Asset, pattern: str | None) -> dict[str, object]:
    restored = asset.restore(match=pattern, at="restored")
    return {
        "files": {path: digest(file.read_bytes()) for path, file in restored.items()},
        "inside": all(
            file.resolve().is_relative_to(Path("restored").resolve()) for file in restored.values()
        ),
        "entries": sorted(entry.path for entry in asset.entries),
        "metadata": [asset.metadata.name, asset.metadata.total_count, asset.metadata.total_size],
    }


@cf.task(requires={"role": "reader"})
def combine(first: cf.Asset, second: cf.Asset) -> cf.Asset:
    # A fresh working directory holds nothing to upload: the entries can only be reused.
    assert not os.listdir("."), os.listdir(".")
    return cf.asset(
        {"first": first, "second": second, "summary.json": first["reports/deep/summary.json"]},
        match="**/*.{csv,json}",
        name="combined",
    )


@cf.workflow()
def share(pattern: str | None) -> dict[str, object]:
    """An asset written on one worker, restored (in part) on another."""
    written = write_files()
    return {"asset": written, "restored": restore(written, pattern)}


@cf.workflow()
def merge() -> dict[str, object]:
    first, second = write_files.submit(), write_files.submit()
    combined = combine(first.result(), second.result())
    return {
        "first": first.result(),
        "combined": combined,
        "restored": restore(combined, "second/*"),
    }


@cf.workflow()
def dict_with_at() -> str:
    try:
        cf.asset({"x": "missing"}, at=".")
    except ValueError as exc:
        return str(exc)
    return "no error"
