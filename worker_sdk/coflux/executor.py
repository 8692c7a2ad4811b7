"""The executor process: runs exactly one execution, then exits.

An executor is forked with the user's modules already imported and waits, warm, on its pipe to
the worker's connection process. It says ``ready``, receives one ``execute`` message, runs the
target in a fresh temporary working directory with its output captured, sends the ``result`` and
exits. Meanwhile a reader thread passes the worker's replies to the execution's context.

Messages on the pipe are the protocol's message dicts, plus ``ready``::

    {"type": "ready", "version": "0.1.0", "pid": 1234}
"""

from __future__ import annotations

import contextlib
import importlib
import os
import queue
import shutil
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from typing import Any

from .capture import LogBuffer, capture_output
from .context import ExecutionContext, activate
from .options import Retries
from .serialization import deserialize, serialize
from .targets import Target, invoke, lookup
from .tracebacks import error_result
from .version import __version__


class Channel:
    """One end of the pipe, safe to send on from several threads."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._connection.send(message)

    def recv(self) -> dict[str, Any]:
        return self._connection.recv()


def main(connection: Connection) -> None:
    """Entry point of an executor process."""
    # Its own process group: a terminal's Ctrl-C reaches only the worker, which decides what
    # happens to running executions, and aborting can kill the user's subprocesses too.
    with contextlib.suppress(OSError):
        os.setpgrp()
    _absolute_sys_path()
    # Whatever can be done before ``ready`` is not paid for when an execution arrives: finding
    # the temporary directory (it probes the file system) and starting the reader thread.
    tempfile.gettempdir()
    channel = Channel(connection)
    reader = Reader(channel)
    channel.send({"type": "ready", "version": __version__, "pid": os.getpid()})
    run(channel, reader.execute_message(), reader)
    # Skip interpreter teardown: lingering user threads must not keep the process alive.
    os._exit(0)


class Reader:
    """Reads the pipe on a thread: the ``execute`` message, then replies for the context."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._execute: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.context: ExecutionContext | None = None
        threading.Thread(target=self._run, name="coflux-reader", daemon=True).start()

    def execute_message(self) -> dict[str, Any]:
        return self._execute.get()

    def _run(self) -> None:
        while True:
            try:
                message = self._channel.recv()
            except (EOFError, OSError):
                # The worker is gone; nobody is left to take this execution's result.
                os._exit(1)
            if message.get("type") == "execute":
                self._execute.put(message)
            elif self.context is not None:
                self.context.receive(message)


def run(channel: Channel, message: dict[str, Any], reader: Reader) -> None:
    """Run one ``execute`` message and send its logs and result."""
    execution_id = message["execution"]
    logs = LogBuffer(
        lambda entries: channel.send({"type": "log", "execution": execution_id, "entries": entries})
    )
    context = ExecutionContext(execution_id, channel.send, logs)
    reader.context = context
    previous = os.getcwd()
    directory = tempfile.mkdtemp(prefix="coflux-")
    os.chdir(directory)
    activate(context)
    try:
        with capture_output(logs):
            result = _execute(message)
    finally:
        activate(None)
        os.chdir(previous)
    logs.close()
    channel.send({"type": "result", "execution": execution_id, "result": result})
    # Removed once the result is on its way: cleaning up is not the execution's latency.
    shutil.rmtree(directory, ignore_errors=True)


def _execute(message: dict[str, Any]) -> dict[str, Any]:
    target: Target[Any, Any] | None = None
    try:
        module, name = message["module"], message["target"]
        importlib.import_module(module)
        target = lookup(module, name)
        if target is None:
            raise LookupError(f"module {module!r} defines no target named {name!r}")
        arguments = [deserialize(argument) for argument in message["arguments"]]
        value = invoke(target.fn, arguments)
        return {"type": "value", "value": serialize(value)}
    except BaseException as exc:
        return _failure(exc, target.retries if target is not None else None)


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


def _absolute_sys_path() -> None:
    """Pin relative ``sys.path`` entries (``""`` is the cwd) before changing directory."""
    sys.path[:] = [os.path.abspath(entry) for entry in sys.path]
