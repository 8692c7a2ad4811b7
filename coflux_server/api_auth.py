"""DRF's view of the door (``coflux_server.request_auth``): ``request.user`` of an API view is
the principal the door found, and the OpenAPI schema says how to authenticate."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from projects.principals import Principal


class DoorAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, None] | None:
        principal = getattr(request._request, "principal", None)
        if principal is None or not principal.is_authenticated:
            return None
        return principal, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="coflux"'


class DoorAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = DoorAuthentication
    name = "token"

    def get_security_requirement(self, auto_schema: Any) -> None:
        # SPECTACULAR_SETTINGS["SECURITY"] already requires it of every operation.
        return None

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The super token, a service token (cflx_…) or a worker session's "
            "token (<session>.<secret>). Studio's session cookie also works, with its CSRF "
            "token for requests that change something.",
        }
