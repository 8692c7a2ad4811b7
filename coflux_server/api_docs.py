"""The API's browsable docs at ``/api/docs/``: Swagger UI over the schema at ``/api/schema/``.

Swagger UI's files come from the drf-spectacular-sidecar package (served as static files, no
CDN). The page is drf-spectacular's split view, which serves its start-up script as a file of
its own rather than inline, with our template, whose styles are a file too: the page runs under
Studio's Content-Security-Policy (``coflux_server.security``), which allows scripts and styles
from the server only, and needs no policy of its own. "Authorize" takes a token, sent as
``Authorization: Bearer <token>`` with each request tried from the page.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from coflux_server import api_schema_strict  # noqa: F401  (registers the schema extension)

schema = SpectacularAPIView.as_view()
docs = SpectacularSwaggerSplitView.as_view(
    url="/api/schema/", template_name="api/docs.html", title="Coflux API"
)
