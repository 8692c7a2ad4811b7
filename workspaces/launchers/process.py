"""Pool workers as processes on the server's machine.

A launch runs ``coflux worker <modules>`` (the pool's ``adapter`` as the command if it names
one, else ``COFLUX_CLI_PATH``, else this Python's ``-m coflux``) in the pool's ``directory``, in
a process group of its own, its output appended to ``<data dir>/launches/<launch>.log``. It
gets the few variables a program needs from the server's environment (``PATH``, ``HOME``, the
locale, …), never the server's own settings, plus the spec's.

Stopping sends SIGTERM to the group, on which the worker drains (finishes what it runs, takes
nothing new), and SIGKILL once ``COFLUX_LAUNCH_STOP_SECONDS`` have passed.

The handle is ``{"pid", "log", "startTime"}``; ``startTime`` (the kernel's, from ``/proc``)
tells a process that ended from a later one given the same ID, when the server restarted
between the launch and a poll.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings

from workspaces.launchers.base import Handle, LaunchError, Status, WorkerSpec, tail

INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SHELL")
"""What a launched worker takes from the server's environment, besides ``LC_*``."""

_children: dict[int, subprocess.Popen[bytes]] = {}
"""Processes this server process started, reaped when polled or stopped."""
_lock = threading.Lock()


def cli_command() -> list[str]:
    if settings.COFLUX_CLI_PATH:
        return [settings.COFLUX_CLI_PATH]
    return [sys.executable, "-m", "coflux"]


def log_path(launch_id: str) -> Path:
    directory = Path(settings.DATA_DIR) / "launches"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{launch_id}.log"


class ProcessLauncher:
    def __init__(self, stop_seconds: float | None = None) -> None:
        self.stop_seconds = (
            settings.COFLUX_LAUNCH_STOP_SECONDS if stop_seconds is None else stop_seconds
        )

    def launch(self, spec: WorkerSpec, config: Mapping[str, Any]) -> Handle:
        directory = config.get("directory") or None
        if directory is not None and not Path(directory).is_dir():
            raise LaunchError(f"the pool's directory {directory!r} does not exist")
        command = [*(spec.adapter or cli_command()), *spec.arguments()]
        env = {
            name: value
            for name, value in os.environ.items()
            if name in INHERITED or name.startswith("LC_")
        }
        env.update(spec.env)
        log = log_path(spec.launch_id)
        with open(log, "ab") as output:
            try:
                process = subprocess.Popen(
                    command,
                    cwd=directory,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise LaunchError(f"cannot run {command[0]!r}: {exc}") from None
        with _lock:
            _children[process.pid] = process
        return {"pid": process.pid, "log": str(log), "startTime": _start_time(process.pid)}

    def poll(self, handle: Mapping[str, Any], config: Mapping[str, Any]) -> Status:
        pid = _pid(handle)
        with _lock:
            child = _children.get(pid)
        if child is not None:
            code = child.poll()
            if code is None:
                return Status(alive=True)
            with _lock:
                _children.pop(pid, None)
            return Status(alive=False, error=_ended(handle, code))
        if _running(pid, handle.get("startTime")):
            return Status(alive=True)
        return Status(alive=False, error=_ended(handle, None))

    def stop(self, handle: Mapping[str, Any], config: Mapping[str, Any]) -> None:
        pid = _pid(handle)
        with _lock:
            child = _children.pop(pid, None)
        if child is None and not _running(pid, handle.get("startTime")):
            return
        _signal_group(pid, signal.SIGTERM)
        if child is not None:
            try:
                child.wait(self.stop_seconds)
            except subprocess.TimeoutExpired:
                _signal_group(pid, signal.SIGKILL)
                child.wait()
        else:
            deadline = time.monotonic() + self.stop_seconds
            while _running(pid, handle.get("startTime")) and time.monotonic() < deadline:
                time.sleep(0.1)
        # Whatever of the group outlived the worker (it drained, or its time ran out).
        _signal_group(pid, signal.SIGKILL)


def _pid(handle: Mapping[str, Any]) -> int:
    pid = handle.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        raise LaunchError(f"not a process launch: {dict(handle)!r}")
    return pid


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _running(pid: int, start_time: Any) -> bool:
    """Whether the process launched as ``pid`` still runs (not one that reused the ID)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return start_time is None
    stat = _stat(pid)
    if stat is None:
        return True
    state, started = stat
    return state != "Z" and (start_time is None or started == start_time)


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and start time, from ``/proc`` where there is one."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (2nd field) is in parentheses and may hold spaces.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def _start_time(pid: int) -> int | None:
    stat = _stat(pid)
    return stat[1] if stat is not None else None


def _ended(handle: Mapping[str, Any], code: int | None) -> str:
    if code is None:
        reason = "the process ended"
    elif code < 0:
        reason = f"killed by signal {-code}"
    else:
        reason = f"exited with code {code}"
    try:
        output = tail(Path(handle["log"]).read_text(errors="replace"))
    except (KeyError, OSError, TypeError):
        output = ""
    return f"{reason}\n{output}" if output else reason
