"""Warm executor processes, managed from the worker's event loop.

Processes are forked by the zygote (``coflux.zygote``), which holds the user's modules already
imported. Each process runs one execution and exits; the pool keeps enough idle ones started
to take the next. Pipes, and each process's exit (through a pidfd, where the OS has them), are
watched with ``loop.add_reader``: no thread per process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from .zygote import Zygote

Started = tuple[int, Connection]


class ExecutorProcess:
    """One executor process and the worker's end of its pipe."""

    def __init__(self, pid: int, connection: Connection) -> None:
        self.pid = pid
        self.connection = connection
        self.exit_fd = _pidfd(pid)
        self.ready = False
        self.execution: str | None = None
        self.exited = False

    @property
    def idle(self) -> bool:
        return self.execution is None and not self.exited


def _pidfd(pid: int) -> int | None:
    """A file descriptor that becomes readable when ``pid`` exits, where the OS offers one."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


class ExecutorPool:
    """Starts, watches and kills executor processes.

    Asking the zygote for a process blocks briefly, so that happens on a helper thread; the
    event loop only reads pipes. ``on_failure`` hears of a process that could not be started.
    """

    def __init__(
        self,
        zygote: Zygote,
        *,
        on_message: Callable[[ExecutorProcess, dict[str, Any]], None],
        on_exit: Callable[[ExecutorProcess], None],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        self._zygote = zygote
        self._on_message = on_message
        self._on_exit = on_exit
        self._on_failure = on_failure
        self._processes: set[ExecutorProcess] = set()
        self._starting: set[concurrent.futures.Future[Started]] = set()
        self._helper = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="coflux-pool")
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, count: int) -> None:
        """Start the first processes; a failure goes to ``on_failure``, as any later one."""
        self._loop = asyncio.get_running_loop()
        self.fill(count)
        starting = [asyncio.wrap_future(future) for future in self._starting]
        await asyncio.gather(*starting, return_exceptions=True)

    def take(self) -> ExecutorProcess | None:
        """A ready process with no execution, if there is one."""
        for process in self._processes:
            if process.ready and process.idle:
                return process
        return None

    def fill(self, wanted: int) -> None:
        """Start processes until ``wanted`` are idle (ready or still starting)."""
        loop = self._require_loop()
        idle = sum(1 for process in self._processes if process.idle) + len(self._starting)
        for _ in range(wanted - idle):
            future = self._helper.submit(self._zygote.fork)
            self._starting.add(future)
            future.add_done_callback(lambda done: loop.call_soon_threadsafe(self._started, done))

    def assign(self, process: ExecutorProcess, message: dict[str, Any]) -> None:
        process.execution = message["execution"]
        self.send(process, message)

    def send(self, process: ExecutorProcess, message: dict[str, Any]) -> None:
        # A process that died is reported by its exit watch; nothing to do here.
        with contextlib.suppress(OSError):
            process.connection.send(message)

    def kill(self, process: ExecutorProcess) -> None:
        """Kill the process and everything it started in its process group."""
        if not process.exited:
            _kill(process.pid)

    def close(self) -> None:
        """Kill every process, idle or not, and stop the zygote."""
        self._helper.shutdown(wait=True)
        started = [future.result() for future in self._starting if future.exception() is None]
        self._starting.clear()
        for process in list(self._processes):
            self._forget(process)
            _kill(process.pid)
        for pid, connection in started:
            _kill(pid)
            connection.close()
        self._zygote.close()

    # --- internals -----------------------------------------------------------------------

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "start() the pool first"
        return self._loop

    def _started(self, future: concurrent.futures.Future[Started]) -> None:
        if future not in self._starting:
            return
        self._starting.discard(future)
        error = future.exception()
        if error is not None:
            # The zygote is gone: no execution can start any more.
            self._on_failure(error)
            return
        process = ExecutorProcess(*future.result())
        self._processes.add(process)
        loop = self._require_loop()
        loop.add_reader(process.connection.fileno(), self._readable, process)
        if process.exit_fd is not None:
            loop.add_reader(process.exit_fd, self._exited, process)

    def _readable(self, process: ExecutorProcess) -> None:
        try:
            while process.connection.poll():
                message = process.connection.recv()
                if message.get("type") == "ready":
                    process.ready = True
                self._on_message(process, message)
        except (EOFError, OSError):
            self._require_loop().remove_reader(process.connection.fileno())
            if process.exit_fd is None:
                self._exited(process)

    def _exited(self, process: ExecutorProcess) -> None:
        if process.exited:
            return
        # Read what it sent before exiting (its result, usually) before reporting the exit.
        with contextlib.suppress(EOFError, OSError):
            while process.connection.poll():
                self._on_message(process, process.connection.recv())
        self._forget(process)
        self._on_exit(process)

    def _forget(self, process: ExecutorProcess) -> None:
        loop = self._require_loop()
        process.exited = True
        with contextlib.suppress(OSError, ValueError):
            loop.remove_reader(process.connection.fileno())
        process.connection.close()
        if process.exit_fd is not None:
            loop.remove_reader(process.exit_fd)
            os.close(process.exit_fd)
        self._processes.discard(process)


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
