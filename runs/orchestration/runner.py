"""The async shell around an orchestrator: leadership, the inbox, ticking, delivery.

Each server process may start a runner per project; only the one holding the project's lease
ticks (see ``lease``). The tick itself runs in a dedicated thread so the event loop keeps
serving websockets while the database works, and so the orchestrator keeps one connection.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from channels.layers import get_channel_layer
from django.db import close_old_connections, connection
from django.utils import timezone

from projects import mailbox
from runs.orchestration import bus, launching
from runs.orchestration.orchestrator import DatabaseUnavailable, LeaseLost, Orchestrator

logger = logging.getLogger("coflux.orchestrator")

MAX_BATCH = 5000
GIVE_UP_AFTER = 5
"""Failed attempts at a batch, the database answering in between, before the envelopes it
refuses are answered with errors."""
MAX_RETRY_SECONDS = 5.0
FOLLOWER_POLL_SECONDS = 1.0
"""How often a process that does not hold a project's lease tries to take it: a dead holder on
this host is replaced at once, so orchestration moves within about this long."""
LAZY_SECONDS = 0.02
LAZY_MESSAGES = frozenset({"started", "log", "heartbeat"})
T = TypeVar("T")

_runners: dict[int, Runner] = {}
_tasks: set[asyncio.Task[None]] = set()


class Runner:
    def __init__(self, project_id: int) -> None:
        self.project_id = project_id
        self.orchestrator = Orchestrator(project_id)
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.leading = False
        # The event loop it runs in, for envelopes put from other threads.
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = ThreadPoolExecutor(1, thread_name_prefix=f"orchestrator-{project_id}")
        self.launching = launching.Launching(self.put)

    def put(self, envelope: dict[str, Any]) -> None:
        self.queue.put_nowait(envelope)

    async def run(self) -> None:
        while True:
            try:
                outbox = await self._call(self._try_load)
                if outbox is None:
                    await asyncio.sleep(FOLLOWER_POLL_SECONDS)
                    continue
                logger.info("orchestrating project %d", self.project_id)
                self.loop = asyncio.get_running_loop()
                self.leading = True
                reader = asyncio.create_task(self._read_channel_layer())
                try:
                    await self._deliver(outbox)
                    await self._loop()
                finally:
                    self.leading = False
                    reader.cancel()
            except asyncio.CancelledError:
                raise
            except LeaseLost:
                logger.warning("lost the lease of project %d", self.project_id)
            except Exception:
                logger.exception("orchestrator of project %d failed; restarting", self.project_id)
                await asyncio.sleep(1)

    def _try_load(self) -> list[tuple[str, dict[str, Any]]] | None:
        # Before taking the project (at start, after a failure), drop a connection that broke.
        close_old_connections()
        try:
            return self.orchestrator.load()
        except LeaseLost:
            return None

    async def _loop(self) -> None:
        while True:
            batch = await self._next_batch(self.orchestrator.next_deadline())
            started = time.perf_counter()
            outbox = await self._apply(batch)
            await self._deliver(outbox)
            logger.debug(
                "tick: %d in, %d out, %.1f ms",
                len(batch),
                len(outbox),
                (time.perf_counter() - started) * 1000,
            )

    async def _deliver(self, outbox: list[tuple[str, dict[str, Any]]]) -> None:
        """Send a committed tick's messages, and start the launcher calls it decided."""
        jobs, messages = launching.split(outbox)
        if jobs:
            self.launching.start(jobs)
        await bus.to_consumers(messages)

    async def _apply(self, batch: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        """Tick with the batch until it is applied: while the database is unavailable, wait
        (backing off), reconnect, reload memory and try again, so that nothing that arrived
        is lost and no session is dropped. If the database answers but keeps refusing the
        batch, the envelopes it refuses are answered with errors instead."""
        failures = 0
        while True:
            try:
                if failures < GIVE_UP_AFTER:
                    return await self._call(self.orchestrator.tick, batch)
                return await self._call(self.orchestrator.tick_one_by_one, batch, True)
            except DatabaseUnavailable as exc:
                failures += 1
                delay = min(MAX_RETRY_SECONDS, 0.1 * 2**failures)
                logger.warning(
                    "project %d: the database is unavailable (%s); retrying in %.1f s",
                    self.project_id,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay)
            await self._reconnect()

    async def _reconnect(self) -> None:
        """Wait until memory could be reloaded through a fresh connection."""
        delay = 0.1
        while True:
            try:
                outbox = await self._call(_reloaded, self.orchestrator)
                await self._deliver(outbox)
                return
            except DatabaseUnavailable as exc:
                logger.warning("project %d: still no database (%s)", self.project_id, exc)
            delay = min(MAX_RETRY_SECONDS, delay * 2)
            await asyncio.sleep(delay)

    async def _next_batch(self, deadline: datetime | None) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        if self.queue.empty():
            timeout = None
            if deadline is not None:
                timeout = max(0.0, (deadline - timezone.now()).total_seconds())
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), timeout))
            except TimeoutError:
                return batch
        self._drain(batch)
        # While nobody waits on what came, give it a moment to share a tick with what follows
        # (typically an execution's ``started`` and its ``result``).
        lazy_until = time.monotonic() + LAZY_SECONDS
        while batch and all(_can_wait(envelope) for envelope in batch):
            remaining = lazy_until - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), remaining))
            except TimeoutError:
                break
            self._drain(batch)
        return batch

    def _drain(self, batch: list[dict[str, Any]]) -> None:
        while len(batch) < MAX_BATCH and not self.queue.empty():
            batch.append(self.queue.get_nowait())

    async def _read_channel_layer(self) -> None:
        """Envelopes from other processes: their consumers, the API's wakes and commands.

        A failure to read (the channel layer's Redis restarting) is logged and the reading
        goes on, since without it this process would orchestrate deaf to the others."""
        layer = get_channel_layer()
        channel = mailbox.orchestrator_channel(self.project_id)
        while True:
            try:
                message = await layer.receive(channel)
            except Exception:
                logger.exception(
                    "project %d: cannot read %s; trying again", self.project_id, channel
                )
                await asyncio.sleep(1)
                continue
            if message.get("type") == "envelopes":
                for envelope in message["envelopes"]:
                    self.put(envelope)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.thread, functools.partial(_in_db_thread, fn, *args))


def _can_wait(envelope: dict[str, Any]) -> bool:
    if envelope["kind"] != "message":
        return False
    message = envelope["message"]
    return message["type"] in LAZY_MESSAGES or (message["type"] == "wait" and not message["reply"])


def _reloaded(orchestrator: Orchestrator) -> list[tuple[str, dict[str, Any]]]:
    connection.close()
    return orchestrator.reload()


def _in_db_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` in the orchestrator's thread, on the connection it keeps from tick to tick.

    The connection is not checked before each tick (a health check is a round trip of its
    own): a broken one fails the tick with ``DatabaseUnavailable``, and the runner replaces it
    and applies the same envelopes again.
    """
    try:
        return fn(*args)
    finally:
        # With a pool, Django would otherwise hand the connection back after every call.
        connection.close_at = None


def ensure_runner(project_id: int) -> None:
    """Start this process's runner for the project, once; call from the server's event loop."""
    if project_id in _runners:
        return
    runner = Runner(project_id)
    _runners[project_id] = runner
    mailbox.register_inbox(project_id, runner)
    task = asyncio.get_running_loop().create_task(runner.run())
    _tasks.add(task)


async def start_all_runners() -> None:
    """Start runners for every project, so that expiries and restarts are handled even before
    any worker connects; call once the server's event loop runs."""
    from channels.db import database_sync_to_async

    from projects.models import Project

    project_ids = await database_sync_to_async(
        lambda: list(Project.objects.values_list("id", flat=True))
    )()
    for project_id in project_ids:
        ensure_runner(project_id)
