"""The worker: one websocket to the server, relaying between it and executor processes.

This process never imports user code (ARCHITECTURE must 6): the zygote process imports the
modules, discovers their targets and forks the executor processes that run executions.

What survives a lost connection. Executors keep running while the worker reconnects (backoff
1→10 s plus jitter), then it says ``hello`` again with its session ID. What the server may have
missed is re-sent whenever a ``welcome`` comes: in reply to ``hello``, or at any time on a live
connection (the server's orchestrator restarted, or moved to another server process, and lost
what it had not committed). The welcome lists the executions the server still considers
assigned to this session; the worker then re-sends the results of listed executions not yet
acknowledged (``ack``) and forgets those of the others (already stored), declines (``declined``)
listed executions it never received, re-sends per running execution the submits still
unanswered, the waits still unresolved and whether it is blocked (``waiting``), and keeps
running what it runs. The server dedupes submits by parent and ref and keeps the first result.
Other messages made while disconnected (``started``, logs, cancels) are queued and sent after
those. Heartbeats list running executions and finished ones whose result is not acknowledged
yet, so that the server never abandons work that is done.

Blocked executions. An execution blocked on results for longer than a moment says so
(``waiting``, see ``coflux._context``): the server then does not count it against the session's
concurrency, so the work it waits for can run here, and assigns at most ``max_processes``
executions in all (by default four times the concurrency), which is how many busy executor
processes the pool holds at most.

Replies to waits. An executor that asks for a reply gets one for every target, ``resolved`` or
``pending`` (see ``coflux._context``). Children's results are pushed to their parent unasked, so
a wait for children only is sent to the server asking no reply, and the worker answers
``pending`` itself for those not resolved yet. A wait that asks no reply only records
dependencies, so one on children submitted with ``wait`` (recorded with the submit) is not sent.

Submit refs. An executor numbers its submits ``"1"``, ``"2"``, … which is unique only within
its execution, yet ``submitted`` replies carry no parent. So on the wire each submit gets a ref
unique within this worker, and replies are mapped back to the execution and its own ref.
Questions for people (``submit_input``, answered by ``input_submitted``) share those refs, and
are re-sent after a ``welcome`` like unanswered submits (the server finds the input it made).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from coflux_wire import protocol

from ._config import Config
from ._discovery import DiscoveryError, declarations
from ._pool import ExecutorPool, ExecutorProcess
from ._sending import Sender
from ._version import __version__
from ._zygote import Zygote

# Named for what it logs, not for the private module it is in.
log = logging.getLogger("coflux.worker")

HEARTBEAT_INTERVAL = 5.0
WELCOME_TIMEOUT = 30.0
ACK_GRACE = 5.0
"""How long a stopping worker waits for the server to acknowledge its last results."""
MAX_WARM = 4
LINGER = {"started": 0.002, "log": 0.05, "metric": 0.05, "heartbeat": 0.05, "wait": 0.05}
"""How long a message nobody waits for may wait to share a write with others (see ``_send``).

``started`` marks the execution as running on the server, so it lingers only briefly; a wait
that wants no reply only records a dependency, so it can wait for the caller's next call.
"""
MAX_QUEUED_LOGS = 10_000
PROCESSES_PER_SLOT = 4
"""Executions at once, blocked ones included, per unit of concurrency by default."""
FATAL_ERRORS = frozenset(
    {
        "session_invalid",
        "project_not_found",
        "workspace_mismatch",
        "version_mismatch",
        "unauthorized",
        "forbidden",
    }
)
"""Refusals that retrying cannot cure: the worker stops and says why."""
REFUSED_CLOSE_CODES = {4001: "unauthorized", 4003: "forbidden"}
"""Close codes with which the server refuses a connection's credentials (the reason says why)."""


def default_max_processes(concurrency: int) -> int:
    """Four times the concurrency; no cap (0) when the concurrency is unlimited (0)."""
    return PROCESSES_PER_SLOT * concurrency if concurrency > 0 else 0


def _linger(message: dict[str, Any]) -> float:
    """How long a message may wait; nothing waits for new work, results or awaited replies."""
    kind = message["type"]
    if kind == "wait" and message["reply"]:
        return 0.0
    return LINGER.get(kind, 0.0)


def _queued_offline(message: dict[str, Any]) -> bool:
    """Messages kept in the outbox across a reconnect; the rest are rebuilt from state.

    Unanswered submits, unresolved waits, unacknowledged results, blocked executions and
    declines are re-sent from the worker's state after each ``welcome``; a heartbeat would be
    stale by then.
    """
    kind = message["type"]
    return kind in ("started", "log", "metric", "cancel") or (
        kind == "wait" and not message["reply"]
    )


def _waiting(execution_id: str, waiting: bool) -> dict[str, Any]:
    return {"type": "waiting", "execution": execution_id, "waiting": waiting}


class WorkerError(Exception):
    """A failure reconnecting cannot fix (refused credentials, wrong protocol version, …)."""


@dataclass
class _Execution:
    message: dict[str, Any]
    process: ExecutorProcess | None = None
    submits: dict[str, dict[str, Any]] = field(default_factory=dict)
    waits: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Waits still unresolved, by a number in order; ``waiting`` indexes them by target."""
    waiting: dict[str, list[int]] = field(default_factory=dict)
    children: set[str] = field(default_factory=set)
    """Executions it submitted: the server pushes their results to it when they end."""
    awaited: set[str] = field(default_factory=set)
    """Children submitted with ``wait``: the server recorded the dependency on them then."""
    resolved: set[str] = field(default_factory=set)
    """Executions whose results were passed on to it."""
    timer: asyncio.TimerHandle | None = None
    blocked: bool = False
    """Blocked waiting for results: the server does not count it against the concurrency."""


def run_worker(
    *,
    host: str,
    project: str,
    workspace: str,
    modules: list[str],
    concurrency: int,
    provides: dict[str, list[str]],
    accepts: dict[str, list[str]] | None = None,
    max_processes: int | None = None,
    session: str | None = None,
    drain_timeout: float = 120.0,
    secure: bool = False,
    token: str | None = None,
    fresh_executors: bool = False,
    settings: Config | None = None,
) -> None:
    """Run a worker until it is stopped by a signal; raise ``WorkerError`` on a fatal error.

    Modules are imported relative to the current directory, as with ``python -m``.
    ``provides`` and ``accepts`` are routing tags (SPEC §3.2): executions whose requirements
    ``provides`` meets may come here, and only those that require one of the ``accepts`` values
    of each of its keys. ``concurrency`` 0 means unlimited; ``max_processes`` caps the
    executions at once, blocked ones included (0: no cap; by default four times the
    concurrency, none if it is unlimited). ``drain_timeout`` 0 waits for running executions
    without limit. ``fresh_executors`` runs each execution in a newly forked
    process instead of reusing executor processes. ``settings`` (by default those the other
    arguments give) tell executions where blobs and assets go (``[blobs]``).
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    worker = Worker(
        url=f"{'wss' if secure else 'ws'}://{host}/api/projects/{project}/worker",
        workspace=workspace,
        modules=modules,
        concurrency=concurrency,
        max_processes=max_processes,
        provides=provides,
        accepts=accepts or {},
        session=session,
        drain_timeout=drain_timeout,
        token=token,
        fresh_executors=fresh_executors,
        settings=settings
        or Config(host=host, project=project, workspace=workspace, token=token, secure=secure),
    )
    asyncio.run(worker.run())


def _handle_signals(loop: asyncio.AbstractEventLoop, handler: Callable[[], None]) -> list[int]:
    """Route SIGINT/SIGTERM to ``handler``; possible only in the main thread.

    Elsewhere (a worker embedded in a thread) the worker runs until its loop is stopped.
    """
    handled = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, handler)
        except (RuntimeError, ValueError):
            break
        handled.append(signum)
    return handled


class Worker:
    def __init__(
        self,
        *,
        url: str,
        workspace: str,
        modules: list[str],
        concurrency: int,
        provides: dict[str, list[str]],
        session: str | None,
        drain_timeout: float,
        token: str | None,
        fresh_executors: bool = False,
        accepts: dict[str, list[str]] | None = None,
        settings: Config | None = None,
        max_processes: int | None = None,
    ) -> None:
        self._url = url
        self._settings = settings
        self._workspace = workspace
        self._modules = modules
        self._concurrency = concurrency
        self._max_processes = (
            default_max_processes(concurrency) if max_processes is None else max_processes
        )
        self._provides = provides
        self._accepts = accepts or {}
        # The session's token, ``<session>.<secret>``: resuming the session takes all of it.
        self._session = session
        self._session_id = session.partition(".")[0] if session else None
        self._drain_timeout = drain_timeout
        # A pool-launched worker has no token of its own: its session's token is its credential.
        credential = token or session
        self._headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        self._fresh_executors = fresh_executors
        self._warm = min(concurrency, MAX_WARM) if concurrency > 0 else MAX_WARM
        self._targets: list[dict[str, Any]] = []
        self._executions: dict[str, _Execution] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._results: dict[str, dict[str, Any]] = {}
        self._refs: dict[str, tuple[str, str]] = {}
        self._ref_counter = 0
        self._wait_counter = 0
        self._outbox: collections.deque[dict[str, Any]] = collections.deque()
        self._connected: ClientConnection | None = None
        self._draining = False
        self._signals = 0
        self._fatal: WorkerError | None = None
        self._pool: ExecutorPool | None = None
        self._welcomed = False
        self._resync = False
        """A welcome came on the live connection: the outbox is to be rebuilt (``_write``)."""
        self._declines: list[str] = []
        self._blocked: set[str] = set()
        self._shutdown: asyncio.Task[None] | None = None
        self._lingering: asyncio.TimerHandle | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._changed = asyncio.Event()
        self._done = asyncio.Event()
        zygote = await loop.run_in_executor(
            None,
            lambda: Zygote(self._modules, reuse=not self._fresh_executors, settings=self._settings),
        )
        self._pool = ExecutorPool(
            zygote,
            on_message=self._from_executor,
            on_exit=self._executor_exited,
            on_failure=lambda exc: self._stop(
                WorkerError(f"cannot start executor processes: {exc}")
            ),
        )
        try:
            try:
                manifest = await loop.run_in_executor(None, zygote.manifest)
            except DiscoveryError as exc:
                raise WorkerError(f"cannot load {', '.join(self._modules)}:\n{exc}") from None
            self._targets = declarations(manifest)
            log.info("hosting %d targets from %s", len(self._targets), ", ".join(manifest))
            await self._pool.start(self._warm)
            await self._serve()
        finally:
            self._pool.close()
        if self._fatal is not None:
            raise self._fatal

    async def _serve(self) -> None:
        """Stay connected until stopped (by signals or a fatal error)."""
        loop = asyncio.get_running_loop()
        handled = _handle_signals(loop, self._on_signal)
        connection = asyncio.create_task(self._connect_forever())
        done = asyncio.create_task(self._done.wait())
        try:
            await asyncio.wait({connection, done}, return_when=asyncio.FIRST_COMPLETED)
            if connection.done():
                connection.result()
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)
            if self._connected is not None:
                with contextlib.suppress(WebSocketException, OSError):
                    await self._connected.close()
            for task in (connection, done):
                task.cancel()
            await asyncio.gather(connection, done, return_exceptions=True)

    def _stop(self, error: WorkerError | None = None) -> None:
        if error is not None and self._fatal is None:
            self._fatal = error
        self._done.set()

    def _on_signal(self) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("draining: no new work; waiting for %d executions", len(self._executions))
            self._draining = True
            self._send({"type": "draining"})
            # Held so the task is not garbage-collected while it waits.
            self._shutdown = asyncio.get_running_loop().create_task(self._drain())
        elif self._signals == 2:
            log.info("stopping: killing %d running executions", len(self._executions))
            self._abandon_all()
        else:
            self._stop()

    async def _drain(self) -> None:
        try:
            await self._until(lambda: not self._executions, self._drain_timeout or None)
        except TimeoutError:
            log.warning("drain timeout: killing %d executions", len(self._executions))
            self._abandon_all()
        with contextlib.suppress(TimeoutError):
            await self._until(lambda: not self._results, ACK_GRACE)
        log.info("drained: stopping")
        self._stop()

    async def _until(self, predicate: Callable[[], bool], timeout: float | None) -> None:
        async def wait() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    # --- the connection ------------------------------------------------------------------

    async def _connect_forever(self) -> None:
        failures = 0
        log.info("connecting to %s", self._url)
        while True:
            self._welcomed = False
            try:
                async with connect(
                    self._url,
                    additional_headers=self._headers,
                    max_size=protocol.MAX_MESSAGE_BYTES,
                    open_timeout=10,
                    # Frames are small JSON (large values go to the blob store): compressing
                    # each one would cost both ends more CPU than it saves.
                    compression=None,
                ) as websocket:
                    await self._converse(websocket)
                problem = "the server closed the connection"
            except InvalidStatus as exc:
                status = exc.response.status_code
                body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
                if 400 <= status < 500 and status not in (408, 429):
                    raise WorkerError(
                        f"server refused the connection: HTTP {status} {body}"
                    ) from None
                problem = f"the server refused the connection (HTTP {status})"
            except ConnectionClosed as exc:
                closed = exc.rcvd
                if closed is not None and closed.code in REFUSED_CLOSE_CODES:
                    raise WorkerError(
                        f"{REFUSED_CLOSE_CODES[closed.code]}: {closed.reason or 'refused'}"
                    ) from None
                problem = (
                    f"connection lost: {exc}"
                    if self._welcomed
                    else f"cannot reach the server at {self._url}: {exc}"
                )
            except (OSError, TimeoutError, WebSocketException, protocol.ProtocolError) as exc:
                reason = str(exc) or type(exc).__name__
                problem = (
                    f"connection lost: {reason}"
                    if self._welcomed
                    else f"cannot reach the server at {self._url}: {reason}"
                )
            failures = 1 if self._welcomed else failures + 1
            delay = min(10.0, 2.0 ** (failures - 1)) + random.uniform(0, 1)
            log.warning("%s; connecting again in %.1f s", problem, delay)
            await asyncio.sleep(delay)

    async def _converse(self, websocket: ClientConnection) -> None:
        await websocket.send(protocol.encode(self._hello()))
        # Not ``asyncio.wait_for``: on Python 3.11 it loses a cancellation that comes as the
        # reply arrives, and a worker stopped right then would never stop.
        async with asyncio.timeout(WELCOME_TIMEOUT):
            text = await websocket.recv()
        reply = protocol.decode(text, protocol.SERVER_MESSAGES)
        if reply["type"] == "error":
            if reply["error"] in FATAL_ERRORS:
                raise WorkerError(f"{reply['error']}: {reply['message']}")
            raise protocol.ProtocolError(f"hello refused: {reply['error']}: {reply['message']}")
        if reply["type"] != "welcome":
            raise protocol.ProtocolError(f"expected welcome, got {reply['type']}")
        self._welcome(reply)
        self._welcomed = True
        log.info(
            "connected: session %s in workspace %s, %d targets, concurrency %s, processes %s",
            self._session_id,
            self._workspace,
            len(self._targets),
            self._concurrency or "unlimited",
            self._max_processes or "unlimited",
        )
        self._connected = websocket
        self._resync = False
        self._requeue()
        tasks = [
            asyncio.create_task(self._read(websocket)),
            asyncio.create_task(self._write(websocket)),
            asyncio.create_task(self._heartbeat()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            self._connected = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "protocol": protocol.VERSION,
            "workspace": self._workspace,
            "session": self._session,
            "concurrency": self._concurrency,
            "max_processes": self._max_processes,
            "provides": self._provides,
            "accepts": self._accepts,
            "targets": self._targets,
        }

    def _welcome(self, welcome: dict[str, Any]) -> None:
        """Take in a welcome: what the server still considers assigned to this session.

        Decided at once, against the state as it is when the welcome arrives: results of
        executions not listed are forgotten (stored already, or no longer wanted), and listed
        executions never received are to be declined. The outbox is rebuilt by ``_requeue``.
        """
        if welcome["protocol"] != protocol.VERSION:
            raise WorkerError(
                f"server speaks protocol {welcome['protocol']}, this worker {protocol.VERSION}"
            )
        self._session_id = welcome["session"]
        self._session = welcome.get("token") or self._session
        listed = [e for e in welcome["executions"] if isinstance(e, str)]
        kept = set(listed)
        forgotten = [e for e in self._results if e not in kept]
        for execution_id in forgotten:
            del self._results[execution_id]
        if forgotten:
            self._changed.set()
        self._declines = [e for e in listed if e not in self._executions and e not in self._results]
        if self._declines:
            log.info("declining %d executions never received", len(self._declines))

    def _welcome_again(self, welcome: dict[str, Any]) -> None:
        """A welcome on the live connection: the outbox is rebuilt before the next write."""
        try:
            self._welcome(welcome)
        except WorkerError as exc:
            self._stop(exc)
            return
        log.info(
            "welcomed again: session %s, re-sending what was not acknowledged", self._session_id
        )
        self._resync = True
        self._flush()

    def _requeue(self) -> None:
        """Rebuild the outbox after a welcome: queued messages, then everything re-sent."""
        self._outbox = collections.deque(filter(_queued_offline, self._outbox))
        if self._draining:
            self._outbox.append({"type": "draining"})
        declines, self._declines = self._declines, []
        self._outbox.extend({"type": "declined", "execution": e} for e in declines)
        self._outbox.extend(self._results.values())
        for execution_id, execution in self._executions.items():
            if execution.blocked:
                self._outbox.append(_waiting(execution_id, True))
            self._outbox.extend(execution.submits.values())
            self._outbox.extend(execution.waits.values())
        self._flush()

    async def _read(self, websocket: ClientConnection) -> None:
        async for text in websocket:
            try:
                items = protocol.messages_of(text)
            except protocol.ProtocolError as exc:
                log.warning("ignoring a malformed frame from the server: %s", exc)
                continue
            for item in items:
                try:
                    message = protocol.validate(item, protocol.SERVER_MESSAGES)
                except protocol.ProtocolError as exc:
                    log.warning("ignoring a malformed message from the server: %s", exc)
                    continue
                try:
                    self._from_server(message)
                except Exception:
                    log.exception("failed to handle %s message", message["type"])

    async def _write(self, websocket: ClientConnection) -> None:
        sender = Sender(websocket)
        while True:
            self._wakeup.clear()
            if self._resync:
                # Between writes, so that no message is half-way out while the outbox changes.
                self._resync = False
                self._requeue()
            await sender.send_all(self._outbox, stop=lambda: self._resync)
            await self._wakeup.wait()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            # Finished executions whose result is not acknowledged yet are still this worker's:
            # left out, the server would abandon them.
            executions = [*self._executions, *self._results]
            self._send({"type": "heartbeat", "executions": executions})

    def _send(self, message: dict[str, Any]) -> None:
        """Queue a message for the server.

        Messages nobody waits for (``started``, logs, heartbeats, waits that want no reply)
        linger a little (``LINGER``), so that they usually leave with the next urgent one: the
        server then applies them in the same tick (one transaction) instead of one of their own.
        """
        if self._connected is None:
            if not _queued_offline(message):
                return
            if message["type"] in ("log", "metric") and len(self._outbox) >= MAX_QUEUED_LOGS:
                return
        self._outbox.append(message)
        linger = _linger(message)
        if not linger:
            self._flush()
        elif not self._wakeup.is_set():
            loop = asyncio.get_running_loop()
            deadline = loop.time() + linger
            if self._lingering is None or self._lingering.when() > deadline:
                if self._lingering is not None:
                    self._lingering.cancel()
                self._lingering = loop.call_at(deadline, self._flush)

    def _flush(self) -> None:
        if self._lingering is not None:
            self._lingering.cancel()
            self._lingering = None
        self._wakeup.set()

    # --- messages from the server --------------------------------------------------------

    def _from_server(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "execute":
            self._execute(message)
        elif kind == "welcome":
            self._welcome_again(message)
        elif kind in ("submitted", "input_submitted"):
            self._reply_to_submit(message)
        elif kind == "resolved":
            self._resolved(message)
        elif kind == "pending":
            self._pending(message)
        elif kind == "error":
            self._error(message)
        elif kind == "ack":
            self._results.pop(message["execution"], None)
            self._changed.set()
        elif kind == "abort":
            self._abort(message["execution"])

    def _execute(self, message: dict[str, Any]) -> None:
        execution_id = message["execution"]
        if execution_id in self._executions:
            return
        if execution_id in self._results:
            self._send(self._results[execution_id])
            return
        self._executions[execution_id] = _Execution(message)
        self._queue.append(execution_id)
        self._dispatch()

    def _reply_to_submit(self, message: dict[str, Any]) -> None:
        entry = self._refs.pop(message["ref"], None)
        if entry is None:
            return
        execution_id, ref = entry
        execution = self._executions.get(execution_id)
        if execution is not None and execution.process is not None:
            submit = execution.submits.pop(message["ref"], None)
            if message["type"] == "submitted":
                execution.children.add(message["execution"])
                if submit is not None and submit.get("wait"):
                    execution.awaited.add(message["execution"])
            self._pool_send(execution.process, {**message, "ref": ref})

    def _resolved(self, message: dict[str, Any]) -> None:
        execution = self._executions.get(message["execution"])
        if execution is None or execution.process is None:
            return
        target = message["target"]
        execution.resolved.add(target)
        for number in execution.waiting.pop(target, ()):
            execution.waits.pop(number, None)
        self._pool_send(execution.process, message)

    def _pending(self, message: dict[str, Any]) -> None:
        """Targets of a wait with no result yet; the wait stays remembered until they have."""
        execution = self._executions.get(message["execution"])
        if execution is not None and execution.process is not None:
            self._pool_send(execution.process, message)

    def _error(self, message: dict[str, Any]) -> None:
        if message.get("ref") in self._refs:
            self._reply_to_submit(message)
            return
        execution = self._executions.get(message.get("execution", ""))
        if isinstance(message.get("target"), str) and execution is not None:
            # A wait for an execution the server does not know: the executor stops waiting.
            for number in execution.waiting.pop(message["target"], ()):
                execution.waits.pop(number, None)
            if execution.process is not None:
                self._pool_send(execution.process, message)
            return
        log.warning("server reported %s: %s", message["error"], message["message"])
        if message["error"] == "workspace_archived":
            # Its sessions are over; reconnecting would only make the workspace anew.
            self._stop(WorkerError(f"{message['error']}: {message['message']}"))
            return
        # A result the server refuses will not be accepted by re-sending it either.
        if message.get("execution") in self._results:
            del self._results[message["execution"]]
            self._changed.set()

    def _abort(self, execution_id: str) -> None:
        # A finished execution's result is no longer wanted either.
        if self._results.pop(execution_id, None) is not None:
            self._changed.set()
        execution = self._forget(execution_id)
        if execution is not None and execution.process is not None:
            self._require_pool().kill(execution.process)

    # --- executors -----------------------------------------------------------------------

    def _require_pool(self) -> ExecutorPool:
        assert self._pool is not None
        return self._pool

    def _pool_send(self, process: ExecutorProcess, message: dict[str, Any]) -> None:
        self._require_pool().send(process, message)

    def _busy(self) -> int:
        return len(self._executions) - len(self._queue)

    def _wanted_idle(self) -> int:
        """Idle processes wanted: one per queued execution, plus some spare ones.

        With a concurrency limit, reused processes are never more than the executions the
        server may assign (``concurrency`` plus those blocked, at most ``max_processes``); more
        would only sit idle. Processes that run one execution each may be ``warm`` more, so
        that a replacement is ready when one exits.
        """
        wanted = len(self._queue) + (0 if self._draining else self._warm)
        limit = self._concurrency + len(self._blocked) if self._concurrency > 0 else None
        if self._max_processes > 0:
            limit = self._max_processes if limit is None else min(limit, self._max_processes)
        if limit is None:
            return wanted
        limit += self._warm if self._fresh_executors else 0
        return max(0, min(wanted, limit - self._busy()))

    def _dispatch(self) -> None:
        """Hand queued executions to ready processes, then top the pool up."""
        pool = self._require_pool()
        loop = asyncio.get_running_loop()
        while self._queue:
            if 0 < self._max_processes <= self._busy():
                break
            process = pool.take()
            if process is None:
                break
            execution_id = self._queue.popleft()
            execution = self._executions.get(execution_id)
            if execution is None:
                continue
            execution.process = process
            pool.assign(process, execution.message)
            self._send({"type": "started", "execution": execution_id})
            timeout_ms = execution.message.get("timeout_ms") or 0
            if timeout_ms > 0:
                execution.timer = loop.call_later(timeout_ms / 1000, self._timed_out, execution_id)
        pool.fill(self._wanted_idle())

    def _from_executor(self, process: ExecutorProcess, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ready":
            if message.get("version") != __version__:
                self._stop(
                    WorkerError(f"executor has SDK {message.get('version')}, worker {__version__}")
                )
                return
            self._dispatch()
            return
        # Messages name their execution; one of an execution this process no longer runs (sent
        # by a thread the user left behind) is dropped.
        execution_id = message.get("parent" if kind == "submit" else "execution")
        execution = self._executions.get(execution_id) if isinstance(execution_id, str) else None
        if execution is None or execution.process is not process:
            return
        if kind in ("submit", "submit_input"):
            self._ref_counter += 1
            ref = str(self._ref_counter)
            own = "parent" if kind == "submit" else "execution"
            outgoing = {**message, "ref": ref, own: execution_id}
            execution.submits[ref] = outgoing
            self._refs[ref] = (execution_id, message["ref"])
            self._send(outgoing)
        elif kind == "wait":
            self._wait(execution, {**message, "execution": execution_id})
        elif kind == "waiting":
            self._waiting(execution_id, execution, bool(message.get("waiting")))
        elif kind in ("cancel", "log", "metric"):
            self._send({**message, "execution": execution_id})
        elif kind == "result":
            self._finish(execution_id, message["result"])

    def _wait(self, execution: _Execution, message: dict[str, Any]) -> None:
        """Pass on a wait; one that asks for a reply is remembered until it is resolved.

        A reply is not asked of the server for results that will reach the execution anyway:
        those already passed on, and those of its children, which the server pushes to it when
        they end; the worker replies ``pending`` for those itself. After a reconnect, a
        remembered wait is re-sent asking for a reply all the same, in case a result was pushed
        while the connection was down.
        """
        targets = message["targets"]
        if message["reply"]:
            pending = [target for target in targets if target not in execution.resolved]
            if pending:
                self._wait_counter += 1
                execution.waits[self._wait_counter] = message
                for target in pending:
                    execution.waiting.setdefault(target, []).append(self._wait_counter)
            if all(target in execution.children for target in pending):
                message = {**message, "reply": False}
                if pending and execution.process is not None:
                    reply = {"type": "pending", "execution": message["execution"]}
                    self._pool_send(execution.process, {**reply, "targets": pending})
        if message["reply"] or not execution.awaited.issuperset(targets):
            self._send(message)

    def _waiting(self, execution_id: str, execution: _Execution, waiting: bool) -> None:
        """An execution is blocked on results, or runs again: the server counts it or not."""
        if execution.blocked == waiting:
            return
        execution.blocked = waiting
        if waiting:
            self._blocked.add(execution_id)
        else:
            self._blocked.discard(execution_id)
        self._send(_waiting(execution_id, waiting))
        # A blocked execution makes room for another: have a process ready for it.
        self._require_pool().fill(self._wanted_idle())

    def _executor_exited(self, process: ExecutorProcess) -> None:
        execution_id = process.execution
        if execution_id is not None:
            execution = self._executions.get(execution_id)
            if execution is not None and execution.process is process:
                self._finish(execution_id, {"type": "abandoned"})
        self._dispatch()

    def _timed_out(self, execution_id: str) -> None:
        execution = self._executions.get(execution_id)
        if execution is None:
            return
        self._finish(execution_id, {"type": "timeout"})
        if execution.process is not None:
            self._require_pool().kill(execution.process)

    def _abandon_all(self) -> None:
        for execution_id, execution in list(self._executions.items()):
            self._finish(execution_id, {"type": "abandoned"})
            if execution.process is not None:
                self._require_pool().kill(execution.process)

    def _finish(self, execution_id: str, result: dict[str, Any]) -> None:
        if self._forget(execution_id) is None:
            return
        message = {"type": "result", "execution": execution_id, "result": result}
        self._results[execution_id] = message
        self._send(message)

    def _forget(self, execution_id: str) -> _Execution | None:
        execution = self._executions.pop(execution_id, None)
        if execution is None:
            return None
        if execution.timer is not None:
            execution.timer.cancel()
        self._blocked.discard(execution_id)
        for ref in execution.submits:
            self._refs.pop(ref, None)
        self._changed.set()
        return execution
