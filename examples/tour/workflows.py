"""A tour of what Studio shows: a report built by groups of parallel steps with logs, retries
and an asset of files; a failure with its traceback; and work that waits for a GPU worker.

Run it with ``coflux worker --dev tour.workflows`` (``examples`` on ``PYTHONPATH``), then submit
``tour.workflows/build_report`` from Studio's form. ``scripts/screenshots`` uses it too.
"""

from __future__ import annotations

import csv
import random
import tempfile
import time
import zlib
from pathlib import Path
from typing import Literal

import coflux as cf


@cf.task()
def fetch(city: str) -> list[float]:
    """Readings of one city (made up, but always the same for a city)."""
    cf.log_info("fetching readings for {city}", city=city)
    rng = random.Random(city)
    time.sleep(0.2 + rng.random() / 2)
    return [round(rng.uniform(-5, 30), 1) for _ in range(24)]


@cf.task(retries=2)
def summarise(city: str, readings: list[float]) -> dict:
    """Minimum, maximum and mean of one city's readings."""
    time.sleep(0.1)
    summary = {
        "city": city,
        "min": min(readings),
        "max": max(readings),
        "mean": round(sum(readings) / len(readings), 2),
    }
    cf.log_info("{city}: mean {mean}", **summary)
    return summary


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    """A small greyscale PNG, without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@cf.task()
def render(summaries: list[dict], style: str) -> cf.Asset:
    """The report as files: Markdown, CSV and a chart, persisted as one asset."""
    folder = Path(tempfile.mkdtemp(prefix="tour-"))
    with open(folder / "summary.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["city", "min", "max", "mean"])
        writer.writeheader()
        writer.writerows(summaries)
    lines = [f"# Weather report ({style})", "", "| city | mean |", "|---|---|"]
    lines += [f"| {s['city']} | {s['mean']} |" for s in summaries]
    (folder / "README.md").write_text("\n".join(lines) + "\n")
    height = 40
    rows = []
    for y in range(height):
        row = bytearray()
        for s in summaries:
            filled = (height - y) <= max(1, int(s["mean"] + 5))
            row += bytes([40 if filled else 235] * 16 + [235] * 4)
        rows.append(bytes(row))
    (folder / "charts").mkdir()
    (folder / "charts" / "means.png").write_bytes(_png(20 * len(summaries), height, rows))
    return cf.asset(at=folder, name="weather report")


@cf.workflow()
def build_report(
    cities: list[str] | None = None, style: Literal["brief", "full"] = "brief"
) -> dict:
    """Build a **weather report** for some cities.

    Fetches each city's readings in parallel, summarises them (retried if that fails) and
    renders the report as an asset: `README.md`, `summary.csv` and a chart.
    """
    cities = cities or ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka"]
    with cf.group("fetch"):
        readings = [fetch.submit(city) for city in cities]
    with cf.group("summarise"):
        summaries = [summarise.submit(c, r.result()) for c, r in zip(cities, readings, strict=True)]
    report = render([s.result() for s in summaries], style)
    return {"cities": len(cities), "report": report}


@cf.task()
def parse(line: str) -> int:
    return int(line)


@cf.workflow()
def broken(line: str = "forty-two") -> int:
    """Fails: shows an error and its traceback."""
    return parse(line) * 2


@cf.task(requires={"gpu": "A100"})
def train(epochs: int) -> float:
    return 0.01 * epochs


@cf.workflow()
def needs_gpu(epochs: int = 10) -> float:
    """Waits in the queue until a worker that provides ``gpu=A100`` connects."""
    return train(epochs)
