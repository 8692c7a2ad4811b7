"""Workspace names: ``^[a-z0-9_-]+(/[a-z0-9_-]+)*$``, compared case-insensitively."""

from __future__ import annotations

import re

WORKSPACE_NAME = re.compile(r"^[a-z0-9_-]+(/[a-z0-9_-]+)*$", re.IGNORECASE)


def is_valid_workspace_name(name: str) -> bool:
    return len(name) <= 200 and WORKSPACE_NAME.fullmatch(name) is not None
