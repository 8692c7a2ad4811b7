"""Helpers for the SDK's tests that run code in executor processes."""

from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from coflux import _workdir as workdir
from coflux._pipe import BlockingPipe
from coflux._serialization import deserialize, serialize
from coflux._zygote import Zygote

REPLY_TIMEOUT = 20


def importable_module(
    tmp_path_factory: pytest.TempPathFactory, name: str, source: str
) -> Iterator[str]:
    """Body of a module-scoped fixture: write ``source`` as module ``name`` and put it on
    ``sys.path`` for the module's tests; executor processes import it by that name."""
    directory = tmp_path_factory.mktemp("flows")
    (directory / f"{name}.py").write_text(source)
    sys.path.insert(0, str(directory))
    yield name
    sys.path.remove(str(directory))


class Executor:
    """One executor process, forked by the zygote, and the worker's end of its pipe."""

    def __init__(self, zygote: Zygote, module: str) -> None:
        self.module = module
        self.pid, sock = zygote.fork()
        self.pipe = BlockingPipe(sock)
        self.exit_fd = os.pidfd_open(self.pid)
        self.logs: list[list[Any]] = []
        self.waiting: list[bool] = []
        """What ``waiting`` messages said, in order (a slow test may see them anywhere)."""
        self.directory = ""
        """Where the next execution will run, as the last ``ready`` said."""

    def receive(self) -> dict[str, Any]:
        assert self.pipe.poll(REPLY_TIMEOUT), "no message from the executor"
        return self.pipe.recv()

    def next(self, kind: str) -> dict[str, Any]:
        """The next message of ``kind``; logs and ``waiting`` are collected on the way."""
        while True:
            message = self.receive()
            if message["type"] == "log":
                self.logs.extend(message["entries"])
                continue
            if message["type"] == "waiting":
                self.waiting.append(message["waiting"])
                if kind != "waiting":
                    continue
            assert message["type"] == kind, message
            return message

    def send(self, message: dict[str, Any]) -> None:
        self.pipe.send(message)

    def execute(self, target: str, *arguments: Any, execution: str = "R1:1:1") -> None:
        self.send(
            {
                "type": "execute",
                "execution": execution,
                "run": "R1",
                "workspace": "default",
                "module": self.module,
                "target": target,
                "target_type": "workflow",
                "arguments": [serialize(argument) for argument in arguments],
                "timeout_ms": 0,
            }
        )

    def exited(self, timeout: float = REPLY_TIMEOUT) -> bool:
        return bool(select.select([self.exit_fd], [], [], timeout)[0])

    def result(self) -> dict[str, Any]:
        """The next result; the process then cleans up and says ``ready`` again."""
        result = self.next("result")["result"]
        ready = self.next("ready")
        assert ready["pid"] == self.pid
        self.directory = ready["directory"]
        return result

    def value(self) -> Any:
        result = self.result()
        assert result["type"] == "value", result
        return deserialize(result["value"])

    def close(self) -> None:
        if not self.exited(0):
            os.kill(self.pid, signal.SIGKILL)
            self.exited()
        os.close(self.exit_fd)
        self.pipe.close()
        # As the worker's pool does for a process it kills.
        if self.directory:
            workdir.remove(self.directory)


def resolved(value: Any, execution: str = "R1:1:1", target: str = "R1:2:1") -> dict[str, Any]:
    return {
        "type": "resolved",
        "execution": execution,
        "target": target,
        "result": {"type": "value", "value": serialize(value)},
    }


def started_zygote(module: str) -> Iterator[Zygote]:
    """A zygote holding ``module``, closed afterwards; for module-scoped fixtures."""
    zygote = Zygote([module])
    zygote.manifest()
    yield zygote
    zygote.close()


def executors(zygote: Zygote, module: str) -> Iterator[Callable[[], Executor]]:
    """Body of a fixture giving a function that starts a ready executor process (this test
    then plays the worker's part); the processes are killed afterwards."""
    started: list[Executor] = []

    def start() -> Executor:
        process = Executor(zygote, module)
        started.append(process)
        ready = process.receive()
        directory = ready.pop("directory")
        assert ready == {"type": "ready", "version": "0.1.0", "pid": process.pid}
        assert os.path.isdir(directory) and not os.listdir(directory)
        process.directory = directory
        return process

    yield start
    for process in started:
        process.close()
