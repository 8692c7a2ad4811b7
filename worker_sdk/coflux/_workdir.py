"""Working directories of executions: a fresh, empty and private directory for each one.

Making a directory and removing it can cost a fraction of a millisecond (more than a trivial
execution takes), so an executor prepares the next execution's directory while it waits, and
recycles the last one when the execution left it as it was made: empty, private and renamed to
a new unique name, it is as fresh as a new one, for a tenth of the cost. The worker removes
the directory of an executor that exits or is killed (``coflux._pool``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile

PREFIX = "coflux-"


def make() -> str:
    return tempfile.mkdtemp(prefix=PREFIX)


def next_name(used: str) -> str:
    """A new unique name, next to ``used``, for the next execution's directory."""
    return os.path.join(os.path.dirname(used), PREFIX + secrets.token_hex(8))


def renew(used: str, fresh: str) -> None:
    """Leave an empty private directory at ``fresh`` and nothing at ``used``."""
    if _untouched(used):
        with contextlib.suppress(OSError):
            os.rename(used, fresh)
            return
    remove(used)
    os.mkdir(fresh, 0o700)


def remove(directory: str) -> None:
    """Remove a working directory and whatever it holds; nothing if it is gone already."""
    try:
        os.rmdir(directory)
    except FileNotFoundError:
        return
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)


def is_working_directory(path: object) -> bool:
    """Whether ``path`` names a directory made here (a check before removing it)."""
    return (
        isinstance(path, str) and os.path.isabs(path) and os.path.basename(path).startswith(PREFIX)
    )


def _untouched(directory: str) -> bool:
    try:
        status = os.lstat(directory)
        with os.scandir(directory) as entries:
            empty = next(entries, None) is None
    except OSError:
        return False
    return (
        empty
        and stat.S_ISDIR(status.st_mode)
        and stat.S_IMODE(status.st_mode) == 0o700
        and status.st_uid == os.getuid()
    )
