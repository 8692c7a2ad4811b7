"""How the API reports a failure: JSON ``{"error": <code>, "message": <text>, "details"?: {...}}``.

Domain code raises ``projects.errors.DomainError`` with a ``Code``; ``STATUS`` is the one place a
code meets its HTTP status. Django's and DRF's own refusals (a 404, a wrong method, a body too
large, …) are reported under codes of the same enum. Anything else is a bug: it is logged with
its traceback and answered 500 ``internal_error``, whichever kind of view it escaped from (DRF
views through ``exception_handler``, plain views through ``coflux_server.api_async``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.settings import api_settings

from projects.errors import Code, DomainError

logger = logging.getLogger("coflux.api")

STATUS: dict[str, int] = {
    Code.PROJECT_NOT_FOUND: 404,
    Code.WORKSPACE_NOT_FOUND: 404,
    Code.MODULE_NOT_FOUND: 404,
    Code.TARGET_NOT_FOUND: 404,
    Code.RUN_NOT_FOUND: 404,
    Code.STEP_NOT_FOUND: 404,
    Code.EXECUTION_NOT_FOUND: 404,
    Code.ASSET_NOT_FOUND: 404,
    Code.INPUT_NOT_FOUND: 404,
    Code.NOT_FOUND: 404,
    Code.UNAUTHORIZED: 401,
    Code.FORBIDDEN: 403,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.NOT_ACCEPTABLE: 406,
    Code.ALREADY_EXISTS: 409,
    Code.WORKSPACE_HAS_CHILDREN: 409,
    Code.INPUT_MISMATCH: 409,
    Code.INPUT_ALREADY_ANSWERED: 409,
    Code.VERSION_MISMATCH: 409,
    Code.REQUEST_TOO_LARGE: 413,
    Code.UNSUPPORTED_MEDIA_TYPE: 415,
    Code.THROTTLED: 429,
    Code.INTERNAL_ERROR: 500,
    Code.ORCHESTRATOR_UNAVAILABLE: 503,
}
"""The HTTP status of each code that is not 400 (a request the client should not repeat as is)."""


def status_of(code: str) -> int:
    return STATUS.get(code, 400)


# DRF's own exceptions, by the code we report them under.
_DRF_CODES: dict[type[exceptions.APIException], Code] = {
    exceptions.ParseError: Code.INVALID_JSON,
    exceptions.ValidationError: Code.INVALID_REQUEST,
    exceptions.UnsupportedMediaType: Code.UNSUPPORTED_MEDIA_TYPE,
    exceptions.MethodNotAllowed: Code.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: Code.NOT_ACCEPTABLE,
    exceptions.NotFound: Code.NOT_FOUND,
    exceptions.PermissionDenied: Code.FORBIDDEN,
    exceptions.NotAuthenticated: Code.UNAUTHORIZED,
    exceptions.AuthenticationFailed: Code.UNAUTHORIZED,
    exceptions.Throttled: Code.THROTTLED,
}


def as_domain_error(exc: BaseException) -> DomainError | None:
    """The error an exception is reported as, or None for an unexpected one."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return DomainError("The request body is too large.", code=Code.REQUEST_TOO_LARGE)
    if isinstance(exc, Http404):
        return DomainError("Not found.", code=Code.NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        return DomainError("Permission denied.", code=Code.FORBIDDEN)
    if isinstance(exc, exceptions.ValidationError):
        return invalid_request(exc.detail)
    if isinstance(exc, exceptions.APIException):
        code = next((code for kind, code in _DRF_CODES.items() if isinstance(exc, kind)), None)
        if code is None:
            return None
        detail = exc.detail
        message = str(detail) if not isinstance(detail, list | dict) else "Invalid request."
        return DomainError(message, code=code)
    return None


def invalid_request(detail: Any) -> DomainError:
    """A serializer's refusal as 400 ``invalid_request``: ``details`` maps each failing field's
    path (``delay``, ``requires['gpu']``, ``entries['a.txt']['size']``; ``body`` for the body as a
    whole) to its messages, and the message names the first."""
    fields = dict(_field_errors(detail, ""))
    if not fields:
        return DomainError("Invalid request.", code=Code.INVALID_REQUEST)
    path, messages = next(iter(fields.items()))
    where = "the body" if path == "body" else f"'{path}'"
    return DomainError(f"Invalid {where}: {messages[0]}", code=Code.INVALID_REQUEST, details=fields)


def _field_errors(detail: Any, path: str) -> list[tuple[str, list[str]]]:
    if isinstance(detail, dict):
        found = []
        for key, nested in detail.items():
            if not path:
                inner = str(key)
            elif key == api_settings.NON_FIELD_ERRORS_KEY:
                inner = path  # the nested object or list as a whole
            elif isinstance(key, int):
                inner = f"{path}[{key}]"
            else:
                inner = f"{path}[{str(key)!r}]"
            found.extend(_field_errors(nested, inner))
        return found
    if isinstance(detail, list):
        if all(not isinstance(item, list | dict) for item in detail):
            return [(path or "body", [str(item) for item in detail])]
        found = []
        for index, nested in enumerate(detail):
            if nested:
                found.extend(_field_errors(nested, f"{path}[{index}]" if path else "body"))
        return found
    return [(path or "body", [str(detail)])]


def error_response(error: DomainError) -> JsonResponse:
    return JsonResponse(error.as_json(), status=status_of(error.code))


def unexpected_error_response(exc: BaseException, where: object) -> JsonResponse:
    """Log ``exc`` with its traceback and answer 500 ``internal_error``."""
    logger.error("unexpected error in %s", where, exc_info=exc)
    return error_response(DomainError("Internal server error.", code=Code.INTERNAL_ERROR))


def response_for(exc: BaseException, where: object) -> JsonResponse:
    """The response reporting ``exc``, raised by the view ``where``."""
    error = as_domain_error(exc)
    if error is None:
        return unexpected_error_response(exc, where)
    return error_response(error)


def exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse:
    """DRF's ``EXCEPTION_HANDLER``: every failure of an API view becomes a JSON error."""
    # Imported here: rest_framework.views loads the parser classes, which import this module.
    from rest_framework.views import set_rollback

    set_rollback()
    return response_for(exc, context.get("view"))
