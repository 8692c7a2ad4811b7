"""The ``coflux`` command's entry point (``coflux = "coflux.cli:main"``); the commands live in
``coflux._cli``."""

from __future__ import annotations

from ._cli import cli, main

__all__ = ["cli", "main"]
