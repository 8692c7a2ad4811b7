"""Service tokens' format (SPEC §6): ``cflx_`` + 32 hex digits + an 8-hex-digit signature.

The signature is the first 4 bytes of HMAC-SHA256(HMAC-SHA256(secret, project), random part),
so the server tells a token it issued for this project from a made-up or mistyped one without
asking the database. Only the SHA-256 of the whole token is stored; the token itself is shown
once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "cflx_"
_SHAPE = re.compile(r"cflx_([0-9a-f]{32})([0-9a-f]{8})")


def _signature(secret: str, project: str, random_part: str) -> str:
    project_key = hmac.new(secret.encode(), project.encode(), hashlib.sha256).digest()
    return hmac.new(project_key, random_part.encode(), hashlib.sha256).digest()[:4].hex()


def new_token(secret: str, project: str) -> str:
    random_part = secrets.token_hex(16)
    return f"{PREFIX}{random_part}{_signature(secret, project, random_part)}"


def looks_like(value: str) -> bool:
    """Whether ``value`` is meant as a service token (rather than another kind of credential)."""
    return value.startswith(PREFIX)


def is_signed(value: str, secret: str, project: str) -> bool:
    """Whether ``value`` has the shape of a service token signed for ``project``."""
    match = _SHAPE.fullmatch(value)
    if match is None:
        return False
    expected = _signature(secret, project, match.group(1))
    return hmac.compare_digest(expected, match.group(2))


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
