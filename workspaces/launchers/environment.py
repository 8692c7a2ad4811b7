"""The environment a launched worker gets: where the server is, which session is its own, and
the pool's settings (SPEC §3.14)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

DEFAULT_HOST = "localhost:7777"


def server_host(project: str) -> str:
    """host:port at which launched workers reach this server (``COFLUX_PUBLIC_HOST``, whose
    leading ``%`` stands for the project's name)."""
    host = settings.COFLUX_PUBLIC_HOST or DEFAULT_HOST
    return host.replace("%", project, 1) if host.startswith("%") else host


def format_tags(tags: Mapping[str, list[str]]) -> str:
    """``{"gpu": ["A100", "H100"]}`` → ``gpu:A100,gpu:H100``, as ``--provides`` reads it."""
    return ",".join(f"{key}:{value}" for key, values in tags.items() for value in values)


def worker_environment(
    config: Mapping[str, Any],
    *,
    project: str,
    workspace: str,
    session: str,
    provides: Mapping[str, list[str]],
    accepts: Mapping[str, list[str]],
) -> dict[str, str]:
    """The pool's ``env``, then what connects the worker: ``COFLUX_HOST`` (the pool's
    ``serverHost`` or this server), ``COFLUX_PROJECT``, ``COFLUX_WORKSPACE``,
    ``COFLUX_SESSION`` (the pre-created session's token), and the pool's concurrency, TLS
    choice, provides and accepts."""
    env = {str(key): str(value) for key, value in (config.get("env") or {}).items()}
    env.update(
        {
            "COFLUX_HOST": config.get("serverHost") or server_host(project),
            "COFLUX_PROJECT": project,
            "COFLUX_WORKSPACE": workspace,
            "COFLUX_SESSION": session,
        }
    )
    if config.get("concurrency") is not None:
        env["COFLUX_WORKER_CONCURRENCY"] = str(config["concurrency"])
    if config.get("serverSecure") is not None:
        env["COFLUX_SECURE"] = "true" if config["serverSecure"] else "false"
    if provides:
        env["COFLUX_WORKER_PROVIDES"] = format_tags(provides)
    if accepts:
        env["COFLUX_WORKER_ACCEPTS"] = format_tags(accepts)
    return env
