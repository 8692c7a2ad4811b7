"""The executor process: runs executions one at a time, each in a fresh working directory.

An executor is forked with the user's modules already imported and waits, warm, on its pipe to
the worker's connection process. It says ``ready``, receives an ``execute`` message, runs the
target in a fresh temporary working directory with its output captured, sends the ``result``,
restores what the execution may have changed (working directory, environment variables,
``sys.stdout``/``sys.stderr``) and says ``ready`` again. An execution that suspended itself
(``coflux._flow``) reports the ``suspended`` result its context recorded, whatever its code did
with the exception that unwound it. Meanwhile a reader thread passes the worker's replies to
the running execution's context.

The process is kept for later executions because forking and warming a new one costs several
times more than a trivial execution. It exits instead of saying ``ready`` again when it was
started for one execution only (``coflux worker --fresh-executors``), or when the execution left
threads of its own running: those would run on into the next execution. Module-level state of
the user's modules does persist from one execution to the next, as it does in any long-lived
process; executions must not rely on it either way.

Messages on the pipe (``coflux._pipe``) are the protocol's message dicts, sent several to a write
when they come quickly (``coflux._outgoing``), plus ``ready``, which names the working directory
the next execution will run in, so that the worker can remove it if it kills the process::

    {"type": "ready", "version": "0.1.0", "pid": 1234, "directory": "/tmp/coflux-…"}
"""

from __future__ import annotations

import contextlib
import importlib
import os
import queue
import socket
import sys
import threading
from typing import Any

from . import _workdir as workdir
from ._capture import LogBuffer, capture_output
from ._context import ExecutionContext, Suspend
from ._current import activate
from ._input import upgrade
from ._options import Retries
from ._outgoing import Outgoing
from ._pipe import BlockingPipe
from ._serialization import deserialize, serialize
from ._targets import Target, invoke, lookup
from ._tracebacks import error_result
from ._version import __version__


def main(sock: socket.socket, *, reuse: bool = True) -> None:
    """Entry point of an executor process; ``reuse`` False runs a single execution."""
    # Its own process group: a terminal's Ctrl-C reaches only the worker, which decides what
    # happens to running executions, and aborting can kill the user's subprocesses too.
    with contextlib.suppress(OSError):
        os.setpgrp()
    _absolute_sys_path()
    channel = BlockingPipe(sock)
    reader = Reader(channel)
    ours = set(threading.enumerate())
    environment = _Environment()
    # Whatever can be done before ``ready`` is not paid for when an execution arrives: the
    # reader thread, and the next execution's working directory (see ``coflux._workdir``).
    directory = reader.directory = workdir.make()
    ready = {"type": "ready", "version": __version__, "pid": os.getpid()}
    channel.send({**ready, "directory": directory})
    while True:
        message = reader.execute_message()
        outgoing = Outgoing(channel)
        result = run(outgoing, message, reader, directory)
        done = {"type": "result", "execution": message["execution"], "result": result}
        if not reuse or _threads_left(ours):
            outgoing.flush(done)
            workdir.remove(directory)
            break
        # ``ready`` travels with the result (one write, one wake-up of the worker), naming the
        # directory the next execution will get. Cleaning up is not this execution's latency:
        # it happens once the result is on its way, and an ``execute`` sent meanwhile waits in
        # the pipe.
        fresh = workdir.next_name(directory)
        outgoing.flush(done, {**ready, "directory": fresh})
        environment.restore()
        try:
            workdir.renew(directory, fresh)
        except OSError:
            # No working directory for the next execution: exit, so that the worker starts
            # another process (an execution already sent here is reported abandoned).
            break
        directory = reader.directory = fresh
    # Skip interpreter teardown: lingering user threads must not keep the process alive.
    os._exit(0)


class Reader:
    """Reads the pipe on a thread: ``execute`` messages, and replies for the running context.

    Replies that arrive while no execution runs belong to one that has ended and are dropped.
    """

    def __init__(self, channel: BlockingPipe) -> None:
        self._channel = channel
        self._execute: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.context: ExecutionContext | None = None
        self.directory: str | None = None
        """The working directory, removed if the worker goes away."""
        threading.Thread(target=self._run, name="coflux-reader", daemon=True).start()

    def execute_message(self) -> dict[str, Any]:
        return self._execute.get()

    def _run(self) -> None:
        while True:
            try:
                message = self._channel.recv()
            except (EOFError, OSError):
                # The worker is gone; nobody is left to take this execution's result.
                if self.directory is not None:
                    workdir.remove(self.directory)
                os._exit(1)
            if message.get("type") == "execute":
                self._execute.put(message)
                continue
            context = self.context
            if context is not None:
                context.receive(message)


def run(
    outgoing: Outgoing, message: dict[str, Any], reader: Reader, directory: str
) -> dict[str, Any]:
    """Run one ``execute`` message in ``directory``; send its logs and return its result."""
    execution_id = message["execution"]
    logs = LogBuffer(
        lambda entries: outgoing.send(
            {"type": "log", "execution": execution_id, "entries": entries}
        )
    )
    context = ExecutionContext(execution_id, outgoing, logs)
    reader.context = context
    previous = os.getcwd()
    os.chdir(directory)
    activate(context)
    try:
        with capture_output(logs):
            result = _execute(message, context)
    finally:
        activate(None)
        reader.context = None
        os.chdir(previous)
    # Logs and metric points still waiting go before the result.
    context.close()
    return result


def _execute(message: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
    target: Target[Any, Any] | None = None
    result: dict[str, Any] | None = None
    try:
        module, name = message["module"], message["target"]
        importlib.import_module(module)
        target = lookup(module, name)
        if target is None:
            raise LookupError(f"module {module!r} defines no target named {name!r}")
        arguments = upgrade(target.fn, [deserialize(a) for a in message["arguments"]])
        value = invoke(target.fn, arguments)
        result = {"type": "value", "value": serialize(value)}
    except Suspend:
        pass
    except BaseException as exc:
        result = _failure(exc, target.retries if target is not None else None)
    # A suspension stands even if the user's code caught the exception that unwound it.
    if context.suspension is not None:
        return context.suspension
    assert result is not None
    return result


def _failure(exc: BaseException, retries: Retries | None) -> dict[str, Any]:
    when = retries.when if retries is not None else None
    if when is None:
        return error_result(exc)
    if isinstance(when, (type, tuple)):
        return error_result(exc, isinstance(exc, when))
    try:
        retryable = bool(when(exc))
    except Exception as failure:
        return error_result(failure)
    return error_result(exc, retryable)


def _threads_left(ours: set[threading.Thread]) -> bool:
    """Whether threads other than the executor's own are still running."""
    return any(thread not in ours for thread in threading.enumerate())


class _Environment:
    """The environment variables as they were, to undo an execution's changes to them."""

    def __init__(self) -> None:
        self._saved = dict(os.environ)
        self._encoded = _encoded_environment()

    def restore(self) -> None:
        if self._encoded is not None and _encoded_environment() == self._encoded:
            return
        for name in [name for name in os.environ if name not in self._saved]:
            del os.environ[name]
        for name, value in self._saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


def _encoded_environment() -> dict[Any, Any] | None:
    """A copy of the mapping ``os.environ`` keeps its entries in, encoded, if it has one.

    Comparing ``os.environ`` itself decodes every entry (tens of microseconds for a typical
    environment); comparing the encoded entries takes about one.
    """
    encoded = getattr(os.environ, "_data", None)
    return dict(encoded) if isinstance(encoded, dict) else None


def _absolute_sys_path() -> None:
    """Pin relative ``sys.path`` entries (``""`` is the cwd) before changing directory."""
    sys.path[:] = [os.path.abspath(entry) for entry in sys.path]
