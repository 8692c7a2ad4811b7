"""Errors of the REST API and how they are rendered.

Every error response is JSON ``{"error": <code>, "message": <text>, "details"?: {...}}``. Domain
code raises ``ApiError`` (or a subclass naming its code and status); the DRF exception handler
and the plain async views render it with ``error_response``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions

logger = logging.getLogger("coflux.api")


class ApiError(Exception):
    """An error reported to the API client; subclasses fix ``code`` and ``status``."""

    code = "bad_request"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class RequestTooLarge(ApiError):
    code = "request_too_large"
    status = 413


# DRF's own exceptions, by the code we report them under.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "invalid_json",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.NotFound: "not_found",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotAuthenticated: "unauthorized",
    exceptions.AuthenticationFailed: "unauthorized",
    exceptions.Throttled: "throttled",
}


def as_api_error(exc: Exception) -> ApiError | None:
    """The ``ApiError`` an exception is reported as, or None for an unexpected one."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge("The request body is too large.")
    if isinstance(exc, Http404):
        return ApiError("Not found.", code="not_found", status=404)
    if isinstance(exc, PermissionDenied):
        return ApiError("Permission denied.", code="forbidden", status=403)
    if isinstance(exc, exceptions.APIException):
        code = next(
            (code for kind, code in _DRF_CODES.items() if isinstance(exc, kind)),
            str(exc.default_code),
        )
        detail = exc.detail
        message = str(detail) if not isinstance(detail, list | dict) else "Invalid request."
        return ApiError(message, code=code, status=exc.status_code)
    return None


def error_response(error: ApiError) -> JsonResponse:
    return JsonResponse(error.as_json(), status=error.status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse:
    """DRF's ``EXCEPTION_HANDLER``: every failure of an API view becomes a JSON error."""
    # Imported here: rest_framework.views loads the parser classes, which import this module.
    from rest_framework.views import set_rollback

    set_rollback()
    error = as_api_error(exc)
    if error is None:
        logger.exception("unexpected error in %s", context.get("view"), exc_info=exc)
        error = ApiError("Internal server error.", code="internal_error", status=500)
    return error_response(error)
