"""Pool workers as Docker containers, through Docker's Python client (the Engine API).

A launch creates and starts a container of the pool's ``image`` named ``coflux-<launch>``,
labelled ``coflux.launch=<launch>``, running ``<adapter or coflux> worker <modules>`` with the
spec's environment, on the pool's ``networkMode`` (default ``host``, so that a server on the
same machine is reachable at its own address). ``dockerHost`` names the engine (default: the
``DOCKER_HOST`` of the server's environment, else the local socket).

A poll inspects the container; one that has exited is removed once its exit code and the end
of its output are read. Stopping asks the engine to stop it (SIGTERM, the worker drains, then
SIGKILL after ``COFLUX_LAUNCH_STOP_SECONDS``) and removes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import docker
from django.conf import settings
from docker.errors import DockerException, NotFound

from workspaces.launchers.base import Handle, LaunchError, Status, WorkerSpec, tail

LABEL = "coflux.launch"


@contextlib.contextmanager
def _client(config: Mapping[str, Any]) -> Iterator[docker.DockerClient]:
    try:
        host = config.get("dockerHost")
        client = docker.DockerClient(base_url=host) if host else docker.from_env()
    except (DockerException, OSError) as exc:
        raise LaunchError(f"cannot reach Docker: {exc}") from None
    try:
        yield client
    except NotFound:
        raise
    except DockerException as exc:
        raise LaunchError(f"Docker refused: {exc}") from None
    except OSError as exc:  # requests' connection errors
        raise LaunchError(f"cannot reach Docker: {exc}") from None
    finally:
        client.close()


class DockerLauncher:
    def __init__(self, stop_seconds: float | None = None) -> None:
        self.stop_seconds = (
            settings.COFLUX_LAUNCH_STOP_SECONDS if stop_seconds is None else stop_seconds
        )

    def launch(self, spec: WorkerSpec, config: Mapping[str, Any]) -> Handle:
        image = config.get("image")
        if not image:
            raise LaunchError("the pool names no image")
        with _client(config) as client:
            try:
                container = client.containers.run(
                    image,
                    command=[*(spec.adapter or ["coflux"]), *spec.arguments()],
                    environment=dict(spec.env),
                    name=f"coflux-{spec.launch_id}",
                    labels={LABEL: spec.launch_id},
                    network_mode=config.get("networkMode") or "host",
                    detach=True,
                )
            except NotFound as exc:
                raise LaunchError(f"no image {image!r}: {exc}") from None
        return {"container": container.id}

    def poll(self, handle: Mapping[str, Any], config: Mapping[str, Any]) -> Status:
        with _client(config) as client:
            try:
                container = client.containers.get(_container(handle))
            except NotFound:
                return Status(alive=False, error="the container is gone")
            state = container.attrs.get("State") or {}
            if state.get("Running") or state.get("Status") in ("created", "restarting"):
                return Status(alive=True)
            output = container.logs(tail=20).decode(errors="replace")
            with contextlib.suppress(NotFound):
                container.remove()
        reason = f"exited with code {state.get('ExitCode')}"
        if state.get("Error"):
            reason += f": {state['Error']}"
        output = tail(output)
        return Status(alive=False, error=f"{reason}\n{output}" if output else reason)

    def stop(self, handle: Mapping[str, Any], config: Mapping[str, Any]) -> None:
        with _client(config) as client:
            try:
                container = client.containers.get(_container(handle))
                container.stop(timeout=round(self.stop_seconds))
                container.remove()
            except NotFound:
                return


def _container(handle: Mapping[str, Any]) -> str:
    container = handle.get("container")
    if not isinstance(container, str) or not container:
        raise LaunchError(f"not a Docker launch: {dict(handle)!r}")
    return container
