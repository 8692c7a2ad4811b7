"""Worker session credentials: ``<session>.<secret>``.

A session is bound to a secret issued once, when the session is made: to the worker that said
hello without one, in its welcome, or to the launcher of a pool worker, which hands it over in
``COFLUX_SESSION``. Only the secret's SHA-256 is stored, and no listing shows it; resuming the
session takes the whole token, so knowing a session's ID (which listings do show) is not enough
to take its work over.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SEPARATOR = "."


def new_secret() -> tuple[str, str]:
    """A fresh secret and the hash to store."""
    secret = secrets.token_urlsafe(24)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token(session_id: str, secret: str) -> str:
    return f"{session_id}{SEPARATOR}{secret}"


def split(value: str) -> tuple[str, str]:
    """A token's session ID and secret (the secret is empty for a bare ID)."""
    session_id, _, secret = value.partition(SEPARATOR)
    return session_id, secret


def matches(secret: str, stored_hash: str) -> bool:
    """Whether ``secret`` is the one whose hash was stored (a session without one matches none)."""
    return bool(stored_hash) and hmac.compare_digest(hash_secret(secret), stored_hash)
