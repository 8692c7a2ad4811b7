"""Warm executor processes, managed from the worker's event loop.

Processes are forked by the zygote (``coflux._zygote``), which holds the user's modules already
imported. A process runs one execution at a time: it is ready when it says ``ready``, busy from
``assign`` until its ``result`` arrives, and ready again when it says so once more (a process
that runs only one execution, or one that retires, exits instead). Killed processes are never
handed out again, and the working directory a process leaves behind is removed; the pool keeps
enough idle ones started to take the next executions.
Pipes, and each process's exit (through a pidfd, where the OS has them), are watched with
``loop.add_reader``: no thread per process. Nothing here blocks the loop: pipes are read and
written without blocking, and what a busy executor cannot take yet waits in a buffer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from ._pipe import Decoder, encode
from ._workdir import is_working_directory, remove
from ._zygote import Zygote

Started = tuple[int, socket.socket]
_READ_SIZE = 1 << 16


class ExecutorProcess:
    """One executor process and the worker's end of its pipe."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        sock.setblocking(False)
        self.socket = sock
        self.fd = sock.fileno()
        self.exit_fd = _pidfd(pid)
        self.decoder = Decoder()
        self.outgoing = bytearray()
        self.writing = False
        self.ready = False
        self.directory: str | None = None
        self.execution: str | None = None
        self.finished = False
        self.killed = False
        self.exited = False

    @property
    def idle(self) -> bool:
        """Ready for an execution, or about to be (starting up)."""
        return self.execution is None and not (self.finished or self.killed or self.exited)

    def note(self, message: dict[str, Any]) -> None:
        """Follow the process's state through a message it sent.

        A process that is kept says ``ready`` right after its ``result``; until then it counts
        as finished, which is what it stays if it exits instead.
        """
        kind = message.get("type")
        if kind == "ready":
            self.ready = True
            self.finished = False
            if is_working_directory(message.get("directory")):
                self.directory = message["directory"]
        elif kind == "result" and message.get("execution") == self.execution:
            self.execution = None
            self.finished = True


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
        self._unflushed: set[ExecutorProcess] = set()

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
        process.ready = False
        self.send(process, message)

    def send(self, process: ExecutorProcess, message: dict[str, Any]) -> None:
        """Queue a message; never blocks.

        Messages queued for a process while the loop handles one batch of events are written
        together once it is done (one system call, one wake-up of the executor); what the
        process cannot take yet waits until its pipe is writable.
        """
        if process.exited:
            return
        process.outgoing += encode(message)
        if process.writing:
            return
        if not self._unflushed:
            self._require_loop().call_soon(self._flush)
        self._unflushed.add(process)

    def kill(self, process: ExecutorProcess) -> None:
        """Kill the process and everything it started in its process group."""
        process.killed = True
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
            if process.directory is not None:
                remove(process.directory)
        for pid, sock in started:
            _kill(pid)
            sock.close()
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
        loop.add_reader(process.fd, self._readable, process)
        if process.exit_fd is not None:
            loop.add_reader(process.exit_fd, self._exited, process)

    def _readable(self, process: ExecutorProcess) -> None:
        if self._receive(process):
            return
        # Its end is closed. Its exit is reported by the exit watch, or now if there is none.
        with contextlib.suppress(OSError, ValueError):
            self._require_loop().remove_reader(process.fd)
        if process.exit_fd is None:
            self._exited(process)

    def _receive(self, process: ExecutorProcess) -> bool:
        """Handle what the process has sent; ``False`` once its end of the pipe is closed."""
        while True:
            if process.socket.fileno() < 0:
                return False
            try:
                data = process.socket.recv(_READ_SIZE)
            except BlockingIOError:
                return True
            except OSError:
                data = b""
            if not data:
                return False
            for message in process.decoder.feed(data):
                process.note(message)
                self._on_message(process, message)
            if len(data) < _READ_SIZE:
                return True

    def _flush(self) -> None:
        unflushed, self._unflushed = self._unflushed, set()
        for process in unflushed:
            self._writable(process)

    def _writable(self, process: ExecutorProcess) -> None:
        if process.exited:
            return
        try:
            sent = process.socket.send(process.outgoing)
        except BlockingIOError:
            sent = 0
        except OSError:
            # A process that died is reported by its exit watch; nothing to do here.
            sent = len(process.outgoing)
        del process.outgoing[:sent]
        if process.outgoing and not process.writing:
            process.writing = True
            self._require_loop().add_writer(process.fd, self._writable, process)
        elif not process.outgoing and process.writing:
            process.writing = False
            self._require_loop().remove_writer(process.fd)

    def _exited(self, process: ExecutorProcess) -> None:
        if process.exited:
            return
        # Marked first, so that a ``ready`` it sent before exiting does not get it work.
        process.exited = True
        # Read what it sent before exiting (its result, usually) before reporting the exit.
        self._receive(process)
        self._forget(process)
        if process.directory is not None:
            # Left behind by a process that was killed (one that exits removes its own).
            with contextlib.suppress(RuntimeError):
                self._helper.submit(remove, process.directory)
        self._on_exit(process)

    def _forget(self, process: ExecutorProcess) -> None:
        loop = self._require_loop()
        process.exited = True
        with contextlib.suppress(OSError, ValueError):
            loop.remove_reader(process.fd)
        with contextlib.suppress(OSError, ValueError):
            loop.remove_writer(process.fd)
        process.outgoing.clear()
        process.writing = False
        self._unflushed.discard(process)
        process.socket.close()
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
