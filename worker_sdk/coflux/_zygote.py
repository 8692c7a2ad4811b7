"""The zygote: a process that imports the user's modules once and forks executors from itself.

The worker's connection process must not import user code, yet each execution should start
with the modules already imported. So a separate process imports them (and discovers their
targets while at it), then waits for requests; each request carries one end of a fresh pipe and
is answered by forking a child that runs ``executor.main`` on it, which keeps running executions
one at a time until it is killed (or, with ``reuse`` off, after one). A fork is all an executor
costs: unlike processes started through ``multiprocessing``'s fork server, the child does not
re-run the parent's main script (the ``coflux`` command would import the whole CLI each time).

The zygote reaps its children, ignores the terminal's Ctrl-C and ``SIGTERM`` (stopping is the
worker's decision) and exits when the worker closes its socket.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import socket
import struct
import threading
import traceback
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from . import _blobs, _executor
from ._discovery import DiscoveryError, Manifest, discover

if TYPE_CHECKING:
    from ._config import Config

_PID = struct.Struct("!q")


class Zygote:
    """The worker's handle on its zygote process."""

    def __init__(
        self, modules: list[str], *, reuse: bool = True, settings: Config | None = None
    ) -> None:
        """``reuse`` False makes each executor run a single execution and exit; ``settings``
        are the worker's, which executions use for blobs and assets (``coflux._blobs``)."""
        context = multiprocessing.get_context("spawn")
        self._socket, theirs = socket.socketpair()
        receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(theirs, sender, modules, reuse, settings),
            name="coflux-zygote",
        )
        self._process.start()
        theirs.close()
        sender.close()
        self._manifest = receiver
        self._lock = threading.Lock()

    def manifest(self) -> Manifest:
        """The targets of the modules, once the zygote has imported them."""
        try:
            status, payload = self._manifest.recv()
        except EOFError:
            raise DiscoveryError("the process importing the modules exited") from None
        finally:
            self._manifest.close()
        if status != "ok":
            raise DiscoveryError(payload)
        return payload

    def fork(self) -> tuple[int, socket.socket]:
        """Start an executor process; returns its pid and the worker's end of its pipe.

        The pipe is a Unix socket carrying ``coflux._pipe`` messages.
        """
        mine, theirs = socket.socketpair()
        try:
            with self._lock:
                socket.send_fds(self._socket, [b"f"], [theirs.fileno()])
                reply = _receive_exactly(self._socket, _PID.size)
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        (pid,) = _PID.unpack(reply)
        return pid, mine

    def close(self) -> None:
        """Let the zygote go (it exits when its socket closes) and wait for it."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("the zygote process exited")
        data += chunk
    return data


# --- inside the zygote process -------------------------------------------------------------


def _reap(*_: Any) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _serve(
    control: socket.socket,
    results: Connection,
    modules: list[str],
    reuse: bool,
    settings: Config | None = None,
) -> None:
    """The zygote's main loop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        results.send(("ok", discover(modules)))
    except BaseException:
        results.send(("error", traceback.format_exc()))
        return
    finally:
        results.close()
    _blobs.configure(settings)
    # Objects that exist now are shared with every child; keep the collector from touching
    # (and so copying) their memory pages.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            return
        if not fds:
            return
        pid = os.fork()
        if pid == 0:
            _child(control, fds[0], reuse)
        os.close(fds[0])
        try:
            control.sendall(_PID.pack(pid))
        except OSError:
            return


def _child(control: socket.socket, fd: int, reuse: bool) -> None:
    control.close()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    try:
        _executor.main(socket.socket(fileno=fd), reuse=reuse)
    finally:
        os._exit(1)
