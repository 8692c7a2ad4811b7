"""ASGI entry point: HTTP goes to Django, websockets to the worker consumer."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coflux_server.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from runs.consumers import WorkerConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter(
            [path("api/projects/<slug:project>/worker", WorkerConsumer.as_asgi())]
        ),
    }
)
