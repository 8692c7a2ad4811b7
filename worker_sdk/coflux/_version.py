"""The SDK's version, announced by executor processes when they are ready."""

from __future__ import annotations

__version__ = "0.1.0"
