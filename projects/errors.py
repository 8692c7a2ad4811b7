"""Errors of the domain, each with a code from one enum.

Domain code (models, actions, the orchestrator) raises ``DomainError`` with a ``Code``; it never
speaks HTTP. The API maps each code to a status in one place (``coflux_server.api_errors``), and
the orchestrator's refusals and the worker protocol's ``error`` messages use the same codes.
This module sits in the lowest app so that every other app may import it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Code(StrEnum):
    # Something named does not exist (or is archived).
    PROJECT_NOT_FOUND = "project_not_found"
    WORKSPACE_NOT_FOUND = "workspace_not_found"
    MODULE_NOT_FOUND = "module_not_found"
    TARGET_NOT_FOUND = "target_not_found"
    RUN_NOT_FOUND = "run_not_found"
    STEP_NOT_FOUND = "step_not_found"
    EXECUTION_NOT_FOUND = "execution_not_found"
    ASSET_NOT_FOUND = "asset_not_found"
    INPUT_NOT_FOUND = "input_not_found"
    NOT_FOUND = "not_found"
    # The request is malformed or names something invalid.
    BAD_REQUEST = "bad_request"
    INVALID_REQUEST = "invalid_request"
    INVALID_JSON = "invalid_json"
    INVALID_ARGUMENTS = "invalid_arguments"
    INVALID_MANIFEST = "invalid_manifest"
    INVALID_WORKSPACE = "invalid_workspace"
    INVALID_KEY = "invalid_key"
    INVALID_COMMAND = "invalid_command"
    HASH_MISMATCH = "hash_mismatch"
    REQUEST_TOO_LARGE = "request_too_large"
    # The request is refused as HTTP: its method, media type or credentials.
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    THROTTLED = "throttled"
    # The request conflicts with the current state.
    ALREADY_EXISTS = "already_exists"
    CYCLE = "cycle"
    WORKSPACE_HAS_CHILDREN = "workspace_has_children"
    WORKSPACE_INVALID = "workspace_invalid"
    INPUT_MISMATCH = "input_mismatch"
    INPUT_ALREADY_ANSWERED = "input_already_answered"
    # An input's content or a response to it is refused.
    INVALID_INPUT = "invalid_input"
    INVALID_RESPONSE = "invalid_response"
    # Refusals of worker messages (the protocol's ``error`` replies).
    SESSION_INVALID = "session_invalid"
    WORKSPACE_MISMATCH = "workspace_mismatch"
    WORKSPACE_ARCHIVED = "workspace_archived"
    INVALID_MESSAGE = "invalid_message"
    INVALID_SUBMIT = "invalid_submit"
    INVALID_WAIT = "invalid_wait"
    INVALID_CANCEL = "invalid_cancel"
    UNKNOWN_EXECUTION = "unknown_execution"
    NOT_READY = "not_ready"
    VERSION_MISMATCH = "version_mismatch"
    # The server cannot answer now.
    ORCHESTRATOR_UNAVAILABLE = "orchestrator_unavailable"
    INTERNAL_ERROR = "internal_error"


class DomainError(Exception):
    """A refusal the caller can act on: a code, a message for people, optional details."""

    code: Code = Code.BAD_REQUEST

    def __init__(
        self, message: str, *, code: Code | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": str(self.code), "message": self.message}
        if self.details:
            body["details"] = self.details
        return body
