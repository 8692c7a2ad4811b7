"""``python -m coflux``: the same as the ``coflux`` command."""

from __future__ import annotations

from .cli import main

# Guarded: processes started with "spawn" import this module again, under another name.
if __name__ == "__main__":
    main()
