"""Turning an exception raised by user code into the ``error`` of a result."""

from __future__ import annotations

import os
import traceback
from typing import Any

from coflux_wire.validation import MAX_NAME

from ._errors import ExecutionError
from ._limits import MAX_ERROR_MESSAGE, clean, clip, clip_frames

_SDK_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _frames(exc: BaseException) -> list[dict[str, Any]]:
    return [
        {
            "file": clean(frame.filename),
            "line": frame.lineno,
            "name": clean(frame.name),
            "code": None if frame.line is None else clean(frame.line),
        }
        for frame in traceback.extract_tb(exc.__traceback__)
        if not os.path.abspath(frame.filename).startswith(_SDK_DIR)
    ]


def error_result(exc: BaseException, retryable: bool | None = None) -> dict[str, Any]:
    """An ``error`` result for ``exc``, without the SDK's own frames.

    A dependency's error that the user did not catch keeps the dependency's type and message,
    and its frames follow this execution's, so the failure reads as one traceback from the
    outermost call down to where it was raised.
    """
    frames = _frames(exc)
    if isinstance(exc, ExecutionError) and exc.error_type:
        error_type, message = exc.error_type, exc.error_message or ""
        frames += exc.frames
    else:
        error_type, message = qualified_name(type(exc)), str(exc)
    return {
        "type": "error",
        "error": {
            # A type name too long for the server is cut: it then names no importable class,
            # and a dependent sees a plain ExecutionError.
            "type": clean(error_type)[:MAX_NAME],
            "message": clip(message, MAX_ERROR_MESSAGE),
            "frames": clip_frames(frames),
            "retryable": retryable,
        },
    }
