"""Pools: launching workers for work no session can take, and their lifecycle (SPEC §3.14).

**Launching.** Dispatch hands over the due executions it could place on no session. For each,
a random enabled pool of its workspace that hosts its module and whose provides and accepts
fit its requires is chosen, and a worker is launched from it, unless the pool launched less
than ``LAUNCH_INTERVAL`` ago (longer after launches that failed) or has a worker still
launching: a queue of a thousand executions launches one worker, not a thousand.

**A launch.** The tick creates the worker's session with its token (the worker resumes it,
so work is routed to it by the pool's provides and accepts like any session's), records the
launch (``launching``) and puts a job for the runner in the outbox. The runner calls the
launcher after the tick commits (``runs.orchestration.launching``) and reports back with a
``launcher`` envelope. The worker is **active** once it connects and declares its targets.

**Stopping.** An active worker with nothing to run for ``IDLE`` is drained and stopped; so is
every worker of a pool disabled or deleted, or of a workspace archived, and one that never
connected within ``ACTIVATION_TIMEOUT`` (a failure). Its session is marked draining (no new
work), and the launcher stops it (the worker finishes what it runs first).

**Watching.** Launchers are polled every ``POLL_CONNECTED`` while the worker is connected,
every ``POLL_DISCONNECTED`` otherwise. A worker found gone ends its session: what it ran is
abandoned and retried as usual.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any, Literal, NotRequired, TypedDict

from django.db.models import Max

from projects.models import Project, WorkerSession
from runs.orchestration import policies, sessions
from runs.orchestration.fleet import Fleet, LaunchState, PoolState
from runs.orchestration.memory import ExecutionSpec, Memory, SessionState
from runs.orchestration.tick import Tick
from workspaces.launchers.environment import worker_environment
from workspaces.models import Launch, Pool
from workspaces.pools import launcher_types

logger = logging.getLogger("coflux.pools")

LAUNCHER = "launcher"
"""The outbox channel of launcher jobs, which the runner carries out instead of delivering."""

LAUNCH_INTERVAL = timedelta(seconds=10)
MAX_BACKOFF = timedelta(minutes=5)
IDLE = timedelta(seconds=5)
POLL_CONNECTED = timedelta(seconds=30)
POLL_DISCONNECTED = timedelta(seconds=5)
ACTIVATION_TIMEOUT = timedelta(minutes=10)
STOP_RETRY = timedelta(seconds=30)

UNFINISHED = (Launch.State.LAUNCHING, Launch.State.ACTIVE, Launch.State.DRAINING)


class LauncherReport(TypedDict):
    """What the runner reports of a launcher job."""

    kind: Literal["launcher"]
    launch: str
    action: Literal["launch", "poll", "stop"]
    ok: bool
    error: NotRequired[str]
    handle: NotRequired[dict[str, Any]]
    alive: NotRequired[bool]


# --- loading -----------------------------------------------------------------------------


def load(memory: Memory, tick: Tick, previous: Fleet | None = None) -> None:
    """Learn the project's pools and the launches that have not ended.

    ``previous`` is the fleet of the memory being rebuilt in the same process: launcher calls
    under way are kept so. A launch with no handle and no call under way was cut short by a
    restart before the launcher answered: it failed (its session ends, so a worker it may have
    started cannot be given work).
    """
    fleet = memory.fleet
    fleet.project_name = (
        Project.objects.filter(id=memory.project_id).values_list("name", flat=True).first() or ""
    )
    load_pools(memory)
    rows = Launch.objects.filter(workspace__project_id=memory.project_id, state__in=UNFINISHED)
    for row in rows:
        launch = LaunchState(
            id=row.id,
            pool_id=row.pool_id,
            workspace_id=row.workspace_id,
            session_id=row.session_id or "",
            state=row.state,
            launcher=row.launcher,
            created_at=row.created_at,
            handle=row.handle,
        )
        kept = previous.launches.get(row.id) if previous is not None else None
        if kept is not None:
            launch.busy, launch.polled_at = kept.busy, kept.polled_at
            launch.idle_since, launch.stop_sent = kept.idle_since, kept.stop_sent
            launch.retry_stop_at, launch.failure = kept.retry_stop_at, kept.failure
        fleet.launches[row.id] = launch
        if launch.handle is None and not launch.busy:
            cut_short = "the server restarted during the launch"
            _end(memory, tick, launch, Launch.State.FAILED, cut_short)


def load_pools(memory: Memory) -> None:
    """(Re)read the project's pools; what memory learned of them (launch times, failures) stays."""
    fleet = memory.fleet
    rows = Pool.objects.filter(workspace__project_id=memory.project_id).annotate(
        last_launch_at=Max("launches__created_at")
    )
    previous, fleet.pools = fleet.pools, {}
    for row in rows:
        known = previous.get(row.id)
        fleet.pools[row.id] = PoolState(
            id=row.id,
            workspace_id=row.workspace_id,
            name=row.name,
            type=row.type,
            modules=list(row.modules),
            provides=dict(row.provides),
            accepts=dict(row.accepts),
            config=dict(row.config),
            enabled=row.state == Pool.State.ACTIVE,
            last_launch_at=known.last_launch_at if known else row.last_launch_at,
            failures=known.failures if known else 0,
        )


# --- launching ---------------------------------------------------------------------------


def launch_for(memory: Memory, tick: Tick, unplaced: list[ExecutionSpec]) -> None:
    """Launch workers for due executions that no session could take (see the module)."""
    fleet = memory.fleet
    if not unplaced or not fleet.pools:
        return
    allowed = launcher_types()
    starting = {launch.pool_id for launch in fleet.launches.values() if launch.state == "launching"}
    decided: set[int] = set()
    seen: set[tuple[Any, ...]] = set()
    for spec in unplaced:
        # Executions alike in where they may run choose alike: one look per kind.
        kind = (spec.workspace_id, spec.module, repr(sorted(spec.requires.items())))
        if kind in seen:
            continue
        seen.add(kind)
        fitting = [
            pool
            for pool in fleet.pools.values()
            if pool.enabled
            and pool.type in allowed
            and pool.workspace_id == spec.workspace_id
            and pool.hosts(spec.module)
            and policies.session_fits(pool.provides, pool.accepts, spec.requires)
        ]
        if not fitting:
            continue
        pool = random.choice(fitting)
        if pool.id in decided or pool.id in starting:
            continue
        due = _launch_due_at(pool)
        if due is not None and due > tick.now:
            fleet.held[pool.id] = due
            continue
        fleet.held.pop(pool.id, None)
        launch(memory, tick, pool)
        decided.add(pool.id)


def _launch_due_at(pool: PoolState) -> datetime | None:
    """When the pool may launch again: ``LAUNCH_INTERVAL`` after its last launch, doubled
    for each launch in a row that failed (up to ``MAX_BACKOFF``)."""
    if pool.last_launch_at is None:
        return None
    wait = LAUNCH_INTERVAL * 2 ** min(max(pool.failures - 1, 0), 8)
    return pool.last_launch_at + min(wait, max(MAX_BACKOFF, LAUNCH_INTERVAL))


def launch(memory: Memory, tick: Tick, pool: PoolState) -> LaunchState:
    """Record a launch from ``pool`` and ask the runner to carry it out after commit."""
    workspace = memory.workspaces[pool.workspace_id]
    concurrency = pool.config.get("concurrency") or 0
    row, token = WorkerSession.objects.create_with_token(
        project_id=memory.project_id,
        workspace_id=pool.workspace_id,
        concurrency=concurrency,
        provides=pool.provides,
        accepts=pool.accepts,
        created_at=tick.now,
        last_seen_at=tick.now,
    )
    memory.sessions[row.id] = SessionState(
        id=row.id,
        workspace_id=pool.workspace_id,
        targets=set(),
        concurrency=concurrency,
        provides=pool.provides,
        accepts=pool.accepts,
        secret_hash=row.secret_hash,
        channel=None,
    )
    launcher = {key: value for key, value in pool.config.items() if key != "env"}
    launcher["type"] = pool.type
    created = Launch.objects.create(
        workspace_id=pool.workspace_id,
        pool_id=pool.id,
        pool_name=pool.name,
        session_id=row.id,
        launcher=launcher,
        created_at=tick.now,
    )
    state = LaunchState(
        id=created.id,
        pool_id=pool.id,
        workspace_id=pool.workspace_id,
        session_id=row.id,
        state=Launch.State.LAUNCHING,
        launcher=launcher,
        created_at=tick.now,
        busy=True,
    )
    memory.fleet.launches[created.id] = state
    pool.last_launch_at = tick.now
    env = worker_environment(
        pool.config,
        project=memory.fleet.project_name,
        workspace=workspace.name,
        session=token,
        provides=pool.provides,
        accepts=pool.accepts,
    )
    spec = {
        "launch_id": created.id,
        "modules": list(pool.modules),
        "env": env,
        "adapter": list(pool.config.get("adapter") or []),
    }
    _job(tick, "launch", state, pool.config, spec=spec)
    tick.sessions_changed.add(pool.workspace_id)
    logger.info("pool %s launches worker %s (session %s)", pool.name, created.id, row.id)
    return state


def _job(
    tick: Tick, action: str, launch: LaunchState, config: dict[str, Any], **extra: Any
) -> None:
    launch.busy = True
    job = {
        "type": action,
        "launch": launch.id,
        "pool_type": launch.launcher["type"],
        "config": config,
        "handle": launch.handle,
        **extra,
    }
    tick.outbox.append((LAUNCHER, job))


# --- the lifecycle -----------------------------------------------------------------------


def sweep(memory: Memory, tick: Tick) -> None:
    """Activate, drain, stop and poll launched workers as their state and the clock say."""
    for launch in list(memory.fleet.launches.values()):
        session = memory.sessions.get(launch.session_id)
        if launch.state == Launch.State.LAUNCHING:
            if session is not None and session.channel is not None:
                _activate(memory, tick, launch)
            elif tick.now - launch.created_at >= ACTIVATION_TIMEOUT:
                _drain(memory, tick, launch, failure="the worker never connected")
        if launch.state != Launch.State.DRAINING:
            reason = _unwanted(memory, launch, session)
            if reason:
                logger.info("worker %s drains: %s", launch.id, reason)
                _drain(memory, tick, launch)
        if launch.state == Launch.State.ACTIVE and session is not None:
            if session.executions:
                launch.idle_since = None
            else:
                launch.idle_since = launch.idle_since or tick.now
                if tick.now - launch.idle_since >= IDLE:
                    _drain(memory, tick, launch)
        if launch.state == Launch.State.DRAINING:
            _stop(memory, tick, launch, session)
        elif _poll_due(memory, launch, tick.now):
            _job(tick, "poll", launch, launch.launcher)


def _unwanted(memory: Memory, launch: LaunchState, session: SessionState | None) -> str:
    """Why a launched worker must go, or nothing."""
    pool = memory.fleet.pools.get(launch.pool_id or 0)
    if pool is None:
        return "its pool was deleted"
    if not pool.enabled:
        return "its pool was disabled"
    workspace = memory.workspaces.get(launch.workspace_id)
    if workspace is None or workspace.state == "archived":
        return "its workspace was archived"
    if session is None:
        return "its session ended"
    return ""


def _activate(memory: Memory, tick: Tick, launch: LaunchState) -> None:
    launch.state = Launch.State.ACTIVE
    Launch.objects.filter(id=launch.id).update(state=launch.state, activated_at=tick.now)
    pool = memory.fleet.pools.get(launch.pool_id or 0)
    if pool is not None:
        pool.failures = 0
    tick.sessions_changed.add(launch.workspace_id)


def _drain(memory: Memory, tick: Tick, launch: LaunchState, failure: str = "") -> None:
    launch.state = Launch.State.DRAINING
    launch.failure = failure
    Launch.objects.filter(id=launch.id).update(
        state=launch.state, draining_at=tick.now, error=failure
    )
    tick.sessions_changed.add(launch.workspace_id)


def _stop(memory: Memory, tick: Tick, launch: LaunchState, session: SessionState | None) -> None:
    """Keep a draining worker's session from taking work, and have the launcher stop it."""
    if session is not None and not session.draining:
        # Also after it reconnected, which makes a session take work again.
        session.draining = True
        WorkerSession.objects.filter(id=session.id).update(draining=True)
        tick.sessions_changed.add(session.workspace_id)
    if launch.busy:
        return
    if launch.handle is None:
        # The launch failed or never happened: there is nothing to stop.
        _end(memory, tick, launch, _stopped_state(launch), launch.failure)
        return
    if not launch.stop_sent or (launch.retry_stop_at and tick.now >= launch.retry_stop_at):
        launch.stop_sent, launch.retry_stop_at = True, None
        _job(tick, "stop", launch, launch.launcher)


def _stopped_state(launch: LaunchState) -> Launch.State:
    return Launch.State.FAILED if launch.failure else Launch.State.STOPPED


def _poll_due(memory: Memory, launch: LaunchState, now: datetime) -> bool:
    due = _poll_at(memory, launch)
    return due is not None and due <= now


def _poll_at(memory: Memory, launch: LaunchState) -> datetime | None:
    if launch.handle is None or launch.busy or launch.state == Launch.State.DRAINING:
        return None
    session = memory.sessions.get(launch.session_id)
    since = launch.polled_at or launch.created_at
    if session is not None and session.channel is not None:
        return since + POLL_CONNECTED
    dropped = session.disconnected_at if session is not None else None
    if dropped is not None and (launch.polled_at is None or launch.polled_at < dropped):
        # A worker whose connection dropped is asked about at once: it may have died.
        return dropped
    return since + POLL_DISCONNECTED


def _end(memory: Memory, tick: Tick, launch: LaunchState, state: Launch.State, error: str) -> None:
    """The worker is gone: record how it ended and end its session (what it ran is
    abandoned, and retried as usual)."""
    memory.fleet.launches.pop(launch.id, None)
    Launch.objects.filter(id=launch.id).update(state=state, error=error, stopped_at=tick.now)
    pool = memory.fleet.pools.get(launch.pool_id or 0)
    never_connected = launch.state == Launch.State.LAUNCHING or launch.failure
    if pool is not None and state in (Launch.State.FAILED, Launch.State.DEAD) and never_connected:
        pool.failures += 1
    session = memory.sessions.get(launch.session_id)
    if session is not None:
        sessions.end(memory, tick, [session])
    tick.sessions_changed.add(launch.workspace_id)
    logger.info("worker %s %s%s", launch.id, state, f": {error}" if error else "")


# --- what the launchers said -------------------------------------------------------------


def reports(memory: Memory, tick: Tick, items: list[LauncherReport]) -> None:
    for report in items:
        launch = memory.fleet.launches.get(report["launch"])
        if launch is None:
            continue
        launch.busy = False
        error = report.get("error") or ""
        if report["action"] == "launch":
            if report["ok"]:
                launch.handle = report.get("handle") or {}
                Launch.objects.filter(id=launch.id).update(
                    handle=launch.handle, launched_at=tick.now
                )
            else:
                _end(memory, tick, launch, Launch.State.FAILED, error)
        elif report["action"] == "poll":
            launch.polled_at = tick.now
            if not report["ok"]:
                logger.warning("cannot poll worker %s: %s", launch.id, error)
            elif not report.get("alive"):
                ended = _stopped_state(launch)
                if launch.state != Launch.State.DRAINING:
                    ended = Launch.State.DEAD
                _end(memory, tick, launch, ended, error)
        elif report["ok"]:
            _end(memory, tick, launch, _stopped_state(launch), launch.failure)
        else:
            logger.warning("cannot stop worker %s: %s", launch.id, error)
            launch.retry_stop_at = tick.now + STOP_RETRY
            Launch.objects.filter(id=launch.id).update(error=error)


def next_deadline(memory: Memory, now: datetime) -> list[datetime]:
    """When the clock alone changes something: a poll, an idle worker, one that never
    connected, a stop to retry, a pool's launch interval ending."""
    times = [due for due in memory.fleet.held.values() if due > now]
    for launch in memory.fleet.launches.values():
        poll = _poll_at(memory, launch)
        if poll is not None:
            times.append(poll)
        if launch.state == Launch.State.LAUNCHING:
            times.append(launch.created_at + ACTIVATION_TIMEOUT)
        elif launch.state == Launch.State.ACTIVE and launch.idle_since is not None:
            times.append(launch.idle_since + IDLE)
        elif launch.retry_stop_at is not None and not launch.busy:
            times.append(launch.retry_stop_at)
    return times
