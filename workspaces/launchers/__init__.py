"""Launchers start, watch and stop the workers of pools, one kind per pool type.

Every launcher does three things, each a blocking call that the orchestrator's runner makes in
a thread of its own after the tick that decided it has committed (never inside a
transaction):

- ``launch(spec, config)`` starts a worker and returns a *handle*, JSON that names it (a
  process ID, a container ID, a Job's name), stored with the launch;
- ``poll(handle, config)`` says whether it still runs (and if not, why it ended);
- ``stop(handle, config)`` asks it to drain and stop, and makes sure it has.

``config`` is the pool's fields (``workspaces.pool_fields``) as they were at the launch. A call
that fails raises ``LaunchError`` with a message for people.
"""

from __future__ import annotations

from workspaces.launchers.base import Launcher, LaunchError, Status, WorkerSpec


def launcher_for(pool_type: str) -> Launcher:
    """The launcher of a pool type; imported on first use (Docker's and Kubernetes' clients
    are only needed by servers that launch such workers)."""
    if pool_type == "process":
        from workspaces.launchers.process import ProcessLauncher

        return ProcessLauncher()
    if pool_type == "docker":
        from workspaces.launchers.docker import DockerLauncher

        return DockerLauncher()
    if pool_type == "kubernetes":
        from workspaces.launchers.kubernetes import KubernetesLauncher

        return KubernetesLauncher()
    raise LaunchError(f"no launcher for pools of type {pool_type!r}")


__all__ = ["LaunchError", "Launcher", "Status", "WorkerSpec", "launcher_for"]
