"""What Studio shows of a workspace's pools: each pool with its settings and the workers it
launched (their lifecycle and load), and per pool how many of its workers are busy or idle
for the sidebar. One query for the pools, one for their recent launches with their load."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from projects.permissions import Action, may
from runs.states import State
from workspaces import pool_fields
from workspaces.models import Launch, Pool, Workspace

POOLS = "studio/pools/_pools.html"
CONFIGURE = Action.ADMINISTER
"""What enabling or disabling a pool takes (a pool says what the server starts)."""
LAUNCHES_SHOWN = 10
"""Launches shown per pool: those still running, then the latest that ended."""
RUNNING = (Launch.State.LAUNCHING, Launch.State.ACTIVE, Launch.State.DRAINING)
STATE_CLASSES = {
    "launching": "queued",
    "active": "succeeded",
    "draining": "paused",
    "stopped": "cancelled",
    "failed": "failed",
    "dead": "abandoned",
}
"""The colour (a run state's) each launch state is drawn in."""


@dataclass
class LaunchRow:
    launch: Launch
    load: int

    @property
    def state_class(self) -> str:
        return STATE_CLASSES.get(self.launch.state, "queued")

    @property
    def error_head(self) -> str:
        return self.launch.error.split("\n", 1)[0]


@dataclass
class PoolRow:
    pool: Pool
    launches: list[LaunchRow] = field(default_factory=list)

    @property
    def fields(self) -> list[tuple[str, str]]:
        shown = []
        for name, value in sorted(pool_fields.public(self.pool.config).items()):
            if name == "env" and isinstance(value, dict):
                shown += [(f"env.{key}", text) for key, text in sorted(value.items())]
            elif isinstance(value, str):
                shown.append((name, value))
            else:
                shown.append((name, json.dumps(value)))
        return shown

    @property
    def busy(self) -> int:
        return sum(1 for row in self.launches if row.launch.state == "active" and row.load)

    @property
    def idle(self) -> int:
        return sum(1 for row in self.launches if row.launch.state == "active" and not row.load)

    @property
    def starting(self) -> int:
        return sum(1 for row in self.launches if row.launch.state == "launching")


def _launches(workspace: Workspace, running_only: bool) -> dict[int, list[LaunchRow]]:
    of_pools = Launch.objects.filter(workspace=workspace, pool__isnull=False)
    running = of_pools.filter(state__in=RUNNING).annotate(
        load=Count("session__executions", filter=Q(session__executions__state=State.ASSIGNED))
    )
    rows = [LaunchRow(launch, launch.load) for launch in running]
    if not running_only:
        newest = Window(RowNumber(), partition_by=F("pool_id"), order_by=F("created_at").desc())
        ended = (
            of_pools.exclude(state__in=RUNNING)
            .annotate(rank=newest)
            .filter(rank__lte=LAUNCHES_SHOWN)
        )
        rows += [LaunchRow(launch, 0) for launch in ended]
    by_pool: dict[int, list[LaunchRow]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: (row.launch.created_at, row.launch.id), reverse=True):
        assert row.launch.pool_id is not None
        by_pool[row.launch.pool_id].append(row)
    return by_pool


def pool_rows(workspace: Workspace, running_only: bool = False) -> list[PoolRow]:
    """The workspace's pools by name, each with its launches, newest first: those running,
    and (unless ``running_only``) the latest ``LAUNCHES_SHOWN`` that ended."""
    launches = _launches(workspace, running_only)
    return [
        PoolRow(pool, launches.get(pool.pk, []))
        for pool in Pool.objects.filter(workspace=workspace).order_by("name")
    ]


def pools_part(workspace: Workspace, user: Any) -> dict[str, Any]:
    """The pools part; enabling and disabling are offered to whom may configure pools."""
    return {
        "workspace": workspace,
        "pools": pool_rows(workspace),
        "may_configure": may(user, CONFIGURE, workspace),
    }
