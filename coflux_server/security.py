"""The Content-Security-Policy every response carries unless its view set its own.

Studio runs only the scripts and styles served from ``static/``: no inline script or style, no
``eval`` (htmx is configured not to need it), nothing from another origin. A view that serves
user content (an asset's file) sets a stricter policy of its own, which is kept.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        # 'self' covers the page's own websocket (ws:/wss: to the same host) in CSP 3 browsers.
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Sync and async alike (``MiddlewareMixin``), so async views stay async."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if HEADER not in response:
            response[HEADER] = POLICY
        return response
