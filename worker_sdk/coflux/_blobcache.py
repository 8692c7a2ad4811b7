"""Blobs fetched before, kept on the worker's disk so that they are not fetched again.

Files live under their keys (``<directory>/<key[:2]>/<key>``); callers check a file against its
key before using it. The cache holds at most ``limit`` bytes: when it grows past that, the
least recently used files (reading one counts as use) go until it holds three quarters of the
limit. Several processes share the directory, each with its own ``BlobCache``: each counts what
it writes and looks at the whole directory when its count passes the limit or a minute has
passed. A file removed by one process while another is about to read it reads as a miss.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

CHUNK = 1024 * 1024
RESCAN_SECONDS = 60.0
TEMPORARY_PREFIX = ".tmp-"


class BlobCache:
    def __init__(self, directory: Path | str, limit: int = 0) -> None:
        self.directory = Path(directory)
        self.limit = limit
        """Bytes kept at most; 0 for no limit."""
        self._size: int | None = None
        self._scanned_at = 0.0

    def path(self, key: str) -> Path | None:
        """The cached file of ``key``, marked as used now; None if it is not cached."""
        path = self.directory / key[:2] / key
        try:
            os.utime(path)
        except OSError:
            return None
        return path

    def keep(self, key: str, data: bytes) -> None:
        """Cache verified content (never raising: the cache is only a shortcut)."""
        with contextlib.suppress(OSError):
            with self._writing(key) as file:
                if file is None:
                    return
                file.write(data)
            self._grew(len(data))

    def keep_file(self, key: str, path: Path) -> None:
        """Cache a verified file's content."""
        with contextlib.suppress(OSError):
            with self._writing(key) as file:
                if file is None:
                    return
                with open(path, "rb") as source:
                    shutil.copyfileobj(source, file, CHUNK)
                size = file.tell()
            self._grew(size)

    def forget(self, key: str) -> None:
        """Drop a cached file that turned out damaged."""
        with contextlib.suppress(OSError):
            (self.directory / key[:2] / key).unlink()

    @contextlib.contextmanager
    def _writing(self, key: str) -> Iterator[IO[bytes] | None]:
        """A file to write the blob into, renamed into place when closed; None if cached."""
        directory = self.directory / key[:2]
        final = directory / key
        if final.exists():
            yield None
            return
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(descriptor, "wb") as file:
                yield file
            os.replace(name, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise

    def _grew(self, size: int) -> None:
        if not self.limit:
            return
        if self._size is None or time.monotonic() - self._scanned_at > RESCAN_SECONDS:
            self._size = sum(size for _, size, _ in self._files())
        else:
            self._size += size
        if self._size > self.limit:
            self._size = self._prune(self.limit * 3 // 4)

    def _prune(self, target: int) -> int:
        """Remove the least recently used files until the cache holds ``target`` bytes at
        most; the bytes left."""
        files = self._files()
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files, key=lambda file: file[0]):
            if total <= target:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
        return total

    def _files(self) -> list[tuple[float, int, Path]]:
        """(last used, size, path) of every cached file."""
        self._scanned_at = time.monotonic()
        files = []
        for path in self.directory.glob("??/*"):
            if path.name.startswith(TEMPORARY_PREFIX):
                continue
            with contextlib.suppress(OSError):
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, path))
        return files


def default_directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "coflux", "blobs")
