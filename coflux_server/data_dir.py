"""The data directory (``COFLUX_DATA_DIR``): kept from other users' eyes, and where the
server's generated secrets live.

The directory is made readable by its owner only (0700) and so is the SQLite database (0600;
SQLite gives its journal files the database's mode). A secret not given in the environment is
generated once into a file of the directory (0600) and read from there afterwards, so that it
survives restarts and is shared by server processes using the same directory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def prepare(path: Path) -> Path:
    """Create the directory if need be and make it private to its owner."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"cannot create the data directory {path}: {exc}") from None
    with contextlib.suppress(OSError):  # not ours to change (e.g. a mounted volume)
        path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create an empty file if there is none, and make it readable by its owner only."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    with contextlib.suppress(OSError):
        path.chmod(PRIVATE_FILE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, replacing what was there."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(PRIVATE_FILE)


def generated_secret(directory: Path, name: str) -> str:
    """The secret kept in ``directory/name``, generated now if there is none.

    Several processes may start at once on one directory: each writes its candidate to a file
    of its own and links it into place, and whoever finds the name taken reads the winner's.
    """
    target = directory / name
    if not target.exists():
        candidate = directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        write_private(candidate, secrets.token_urlsafe(48))
        try:
            os.link(candidate, target)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: create it exclusively instead
            with contextlib.suppress(FileExistsError):
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
                with os.fdopen(descriptor, "w") as file:
                    file.write(candidate.read_text())
        finally:
            candidate.unlink()
    try:
        value = target.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"cannot read the secret in {target}: {exc}") from None
    if len(value) < 32:
        raise ImproperlyConfigured(f"{target} holds no usable secret: delete it to make a new one")
    return value
