"""``manage.py serve``: migrate, make sure the default project exists, and run the server."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from coflux_server import supervisor
from projects.models import Project
from workspaces.models import Workspace

logger = logging.getLogger("coflux.server")

DEFAULT_WORKSPACE = "default"
WEBSOCKET_TIMEOUT = -1
"""Worker connections stay open as long as the worker runs: no time limit (Daphne's -1)."""


class Command(BaseCommand):
    help = "Run the Coflux server (HTTP, websockets, Studio and the API) on Daphne."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT", "7777")),
            help="Port to listen on (default: $PORT or 7777).",
        )
        parser.add_argument(
            "--host", default="127.0.0.1", help="Interface to listen on (default: 127.0.0.1)."
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=int(os.environ.get("COFLUX_PROCESSES", "1")),
            help="Server processes sharing the port (default: $COFLUX_PROCESSES or 1); more "
            "than one needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).",
        )
        parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        processes: int,
        fd: int | None,
        verbosity: int,
        **options: Any,
    ) -> None:
        if fd is None:
            settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
            call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        project = Project.objects.ensure(settings.COFLUX_PROJECT)
        Workspace.objects.ensure(project, DEFAULT_WORKSPACE)
        if processes > 1 and fd is None:
            self._supervise(host, port, processes, project)
            return
        if not settings.COFLUX_PUBLIC_HOST:
            # Where workers launched by pools connect to: here.
            local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            settings.COFLUX_PUBLIC_HOST = f"[{local}]:{port}" if ":" in local else f"{local}:{port}"

        # Daphne installs Twisted's asyncio reactor when imported: import it only to serve.
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import twisted_loop
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from coflux_server.asgi import application
        from coflux_server.http_server import Server
        from coflux_wire.protocol import MAX_MESSAGE_BYTES
        from runs.orchestration.runner import start_all_runners

        def ready() -> None:
            if fd is None:
                self.stdout.write(
                    f"Coflux server listening on http://{host}:{port}/ (project {project})"
                )
            # Orchestrators start with the event loop: expiries and work queued before a
            # restart are handled even before any worker connects.
            twisted_loop.create_task(start_all_runners())

        if fd is None:
            endpoints = build_endpoint_description_strings(host=host, port=port)
        else:
            endpoints = build_endpoint_description_strings(file_descriptor=fd)
        server = Server(
            # Serves the admin's and Studio's static files; everything else goes to the app.
            application=ASGIStaticFilesHandler(application),
            endpoints=endpoints,
            websocket_timeout=WEBSOCKET_TIMEOUT,
            websocket_max_message_size=MAX_MESSAGE_BYTES,
            websocket_max_frame_size=MAX_MESSAGE_BYTES,
            application_close_timeout=10,
            verbosity=verbosity,
            ready_callable=ready,
        )
        server.run()
        if server.listen_failure is not None:
            raise CommandError(f"cannot listen on {host}:{port}: {server.listen_failure}")

    def _supervise(self, host: str, port: int, processes: int, project: Project) -> None:
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") or not settings.REDIS_URL:
            raise CommandError(
                "several server processes need PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
            )
        try:
            sock = supervisor.listen(host, port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from None
        self.stdout.write(
            f"Coflux server listening on http://{host}:{port}/ "
            f"(project {project}, {processes} processes)"
        )
        supervisor.Supervisor(sock, processes, self.stdout.write).run()
