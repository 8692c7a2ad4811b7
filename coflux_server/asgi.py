"""ASGI entry point: HTTP goes to Django; websockets to the worker consumer (token-less, project
by path) or to Studio's live consumer (the Django session's user, same origin only)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coflux_server.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from runs.consumers import WorkerConsumer  # noqa: E402
from runs.studio.live import SameOrigin, StudioConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter(
            [
                path("api/projects/<slug:project>/worker", WorkerConsumer.as_asgi()),
                path("studio/live", SameOrigin(AuthMiddlewareStack(StudioConsumer.as_asgi()))),
            ]
        ),
    }
)
