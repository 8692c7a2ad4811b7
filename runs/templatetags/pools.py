"""The sidebar's pools: each with how many of its workers are busy and idle."""

from __future__ import annotations

from django import template

from runs.studio.pools_page import PoolRow, pool_rows
from workspaces.models import Workspace

register = template.Library()


@register.simple_tag
def workspace_pools(workspace: Workspace) -> list[PoolRow]:
    return pool_rows(workspace, running_only=True)
