"""What every launcher takes and gives (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Handle = dict[str, Any]
LOG_TAIL_LINES = 20
LOG_TAIL_CHARS = 4000


class LaunchError(Exception):
    """The launcher could not do what it was asked; the message says why."""


@dataclass(frozen=True)
class WorkerSpec:
    """The worker to start: what it hosts and the environment that connects it."""

    launch_id: str
    modules: list[str]
    env: dict[str, str]
    """``COFLUX_HOST``, ``_PROJECT``, ``_WORKSPACE``, ``_SESSION`` and the pool's ``env``."""
    adapter: list[str] = field(default_factory=list)
    """The command that runs the ``coflux`` CLI, if the pool names one."""

    def arguments(self) -> list[str]:
        """``worker`` and the modules: what follows the ``coflux`` command."""
        return ["worker", *self.modules]


@dataclass(frozen=True)
class Status:
    alive: bool
    error: str = ""
    """Why it ended (an exit code, the end of its output), when it has."""


class Launcher(Protocol):
    def launch(self, spec: WorkerSpec, config: Mapping[str, Any]) -> Handle: ...

    def poll(self, handle: Mapping[str, Any], config: Mapping[str, Any]) -> Status: ...

    def stop(self, handle: Mapping[str, Any], config: Mapping[str, Any]) -> None: ...


def tail(text: str) -> str:
    """The last lines of a worker's output, to say why it ended."""
    lines = text.rstrip().splitlines()[-LOG_TAIL_LINES:]
    return "\n".join(lines)[-LOG_TAIL_CHARS:]
