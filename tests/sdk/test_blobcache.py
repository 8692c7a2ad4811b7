"""The worker's blob cache keeps what is used and stays within its size."""

from __future__ import annotations

import os
from pathlib import Path

from coflux._blobcache import BlobCache
from coflux._blobs import Blobs, MemoryStore, key_of


def blob(n: int, size: int = 300) -> tuple[str, bytes]:
    data = bytes([n]) * size
    return key_of(data), data


def cached_keys(cache: BlobCache) -> set[str]:
    return {path.name for path in cache.directory.glob("??/*")}


def aged(cache: BlobCache, key: str, seconds_ago: float) -> None:
    path = cache.directory / key[:2] / key
    when = path.stat().st_mtime - seconds_ago
    os.utime(path, (when, when))


def test_past_its_limit_the_least_recently_used_blobs_go(tmp_path: Path):
    cache = BlobCache(tmp_path, limit=1000)
    keys = []
    for n in range(3):
        key, data = blob(n)
        cache.keep(key, data)
        aged(cache, key, 100 - n * 10)  # 0 is the oldest, then 1, then 2
        keys.append(key)
    assert cache.path(keys[0]) is not None  # used now: the newest
    key, data = blob(3)
    cache.keep(key, data)  # 1200 bytes: pruned to at most 750
    assert cached_keys(cache) == {keys[0], key}


def test_without_a_limit_nothing_goes(tmp_path: Path):
    cache = BlobCache(tmp_path)
    for n in range(10):
        cache.keep(*blob(n))
    assert len(cached_keys(cache)) == 10


def test_a_file_written_by_another_process_counts(tmp_path: Path):
    other, ours = BlobCache(tmp_path, limit=1000), BlobCache(tmp_path, limit=1000)
    for n in range(3):
        other.keep(*blob(n))
    ours.keep(*blob(3))  # ours looks at the whole directory on its first write
    assert len(cached_keys(ours)) == 2


def test_a_blob_removed_from_the_cache_meanwhile_is_fetched_again(tmp_path: Path):
    store = MemoryStore()
    key, data = blob(7)
    store.put(key, data)
    blobs = Blobs([store], cache=tmp_path / "cache", cache_size=10_000)
    assert blobs.get(key) == data
    assert blobs.cache is not None and blobs.cache.path(key) is not None
    (tmp_path / "cache" / key[:2] / key).unlink()
    assert blobs.get(key) == data
    assert blobs.fetch(key, tmp_path / "copy").read_bytes() == data
