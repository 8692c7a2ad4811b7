"""The server's blob store: files under ``<COFLUX_DATA_DIR>/blobs``, named by their SHA-256.

A blob with key ``k`` lives at ``blobs/<k[0:2]>/<k[2:4]>/<k[4:]>``. A key is exactly 64
lowercase hex digits, checked before any path is built from it, so no request can name a file
outside that directory. A blob is written to a temporary file in its final directory while
its content is hashed, then renamed into place if the hash is its key: readers never see a
partial blob, and a body that does not match its key, or grows beyond the largest blob
accepted, leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings

from projects.errors import Code, DomainError

KEY = re.compile(r"[0-9a-f]{64}")
CHUNK = 1024 * 1024


def invalid_key() -> DomainError:
    return DomainError(
        "A blob key is 64 lowercase hexadecimal digits (its SHA-256).", code=Code.INVALID_KEY
    )


def is_key(key: str) -> bool:
    return KEY.fullmatch(key) is not None


def blobs_dir() -> Path:
    return Path(settings.DATA_DIR) / "blobs"


def blob_path(key: str) -> Path | None:
    """Where the blob ``key`` lives, or ``None`` if ``key`` is not a key."""
    if not is_key(key):
        return None
    return blobs_dir() / key[:2] / key[2:4] / key[4:]


def too_large(limit: int) -> DomainError:
    return DomainError(
        f"A blob may hold at most {limit} bytes.",
        code=Code.REQUEST_TOO_LARGE,
        details={"limit": limit},
    )


def store_blob(key: str, read: Callable[[int], bytes], limit: int) -> bool:
    """Store the content ``read`` returns in chunks (until ``b""``) as the blob ``key``.

    Returns whether the blob is new. Refuses a key that is not a key (``invalid_key``), a body
    of more than ``limit`` bytes (``request_too_large``: counted as it is read, whatever the
    request said its length was) and a body that does not hash to the key (``hash_mismatch``),
    and then leaves no file behind.
    """
    final = blob_path(key)
    if final is None:
        raise invalid_key()
    digest = hashlib.sha256()
    chunks = _bounded(read, limit)
    if final.is_file():
        # Already here: the body is still checked, so that a wrong one is always refused.
        for chunk in chunks:
            digest.update(chunk)
        _check(digest, key)
        return False
    created = _make_directories(final.parent)
    descriptor, temporary = _temporary_file(final.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in chunks:
                digest.update(chunk)
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        _check(digest, key)
        os.replace(temporary, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()  # only if still empty: another blob may have arrived
        raise
    return True


def _bounded(read: Callable[[int], bytes], limit: int) -> Iterator[bytes]:
    received = 0
    while chunk := read(CHUNK):
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        yield chunk


def _check(digest: hashlib._Hash, key: str) -> None:
    if digest.hexdigest() != key:
        raise DomainError(
            "The body's SHA-256 is not the key.",
            code=Code.HASH_MISMATCH,
            details={"sha256": digest.hexdigest()},
        )


def _make_directories(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents up to the blob directory; those created."""
    missing = []
    for candidate in (directory, directory.parent):
        if not candidate.is_dir():
            missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _temporary_file(directory: Path) -> tuple[int, str]:
    # Another request may remove the directory if it ends up empty: make it again then.
    for _ in range(3):
        try:
            return tempfile.mkstemp(dir=directory, prefix=".tmp-")
        except FileNotFoundError:
            directory.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=directory, prefix=".tmp-")
