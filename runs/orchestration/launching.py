"""Carrying out what ticks decided about pool workers: launching, polling and stopping them.

A tick puts launcher jobs in its outbox under the channel ``pools.LAUNCHER``; once the tick
has committed, the runner hands them here instead of delivering them. Each job runs in a
thread of its own, since launchers block (a process starting, Docker's or Kubernetes' API, a
worker draining before it stops), and its outcome comes back to the orchestrator as a
``launcher`` envelope (``pools.LauncherReport``) in its inbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from runs.orchestration.pools import LAUNCHER, LauncherReport
from workspaces.launchers import LaunchError, WorkerSpec, launcher_for

logger = logging.getLogger("coflux.pools")

Outbox = list[tuple[str, dict[str, Any]]]
THREADS = 8


def split(outbox: Outbox) -> tuple[list[dict[str, Any]], Outbox]:
    """The launcher jobs of an outbox, and the rest (messages to deliver)."""
    jobs = [message for channel, message in outbox if channel == LAUNCHER]
    if not jobs:
        return [], outbox
    return jobs, [(channel, message) for channel, message in outbox if channel != LAUNCHER]


def carry_out(job: dict[str, Any]) -> LauncherReport:
    """Call the launcher as ``job`` says; blocking. Never raises: a failure is reported."""
    action = job["type"]
    report: LauncherReport = {"kind": "launcher", "launch": job["launch"], "action": action}
    try:
        launcher = launcher_for(job["pool_type"])
        if action == "launch":
            report["handle"] = launcher.launch(WorkerSpec(**job["spec"]), job["config"])
        elif action == "poll":
            status = launcher.poll(job["handle"], job["config"])
            report["alive"], report["error"] = status.alive, status.error
        else:
            launcher.stop(job["handle"], job["config"])
        report["ok"] = True
    except LaunchError as exc:
        report.update(ok=False, error=str(exc))
    except Exception as exc:
        logger.exception("launcher %s of worker %s failed", action, job["launch"])
        report.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    return report


class Launching:
    """Runs a project's launcher jobs; reports go to ``put`` (the runner's inbox), from the
    event loop's thread."""

    def __init__(self, put: Callable[[dict[str, Any]], None]) -> None:
        self.put = put
        self.threads = ThreadPoolExecutor(THREADS, thread_name_prefix="launcher")

    def start(self, jobs: list[dict[str, Any]]) -> None:
        loop = asyncio.get_running_loop()
        for job in jobs:
            future = loop.run_in_executor(self.threads, carry_out, job)
            future.add_done_callback(lambda done: self.put(dict(done.result())))
