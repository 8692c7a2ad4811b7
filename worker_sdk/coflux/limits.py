"""Caps on what user code puts into messages, so that no message outgrows a frame.

A frame larger than ``protocol.MAX_MESSAGE_BYTES`` is refused by the server, which closes the
connection; the worker would send it again on reconnecting, and again be refused. Values never
come near (large ones go to the blob store), but text does: a printed line, an exception's
message. Text past these caps is cut, saying how much was left out.
"""

from __future__ import annotations

from typing import Any

MAX_LOG_LINE = 16_384
"""Characters of a log entry's template (a captured line). A batch of ``[logs] batch_size``
such entries stays under the frame limit even when every character needs escaping in JSON."""
MAX_ERROR_MESSAGE = 65_536
"""Characters of an error's message."""
MAX_ERROR_FRAMES = 200
"""Traceback frames of an error: the outermost and innermost halves are kept."""


def clip(text: str, limit: int) -> str:
    return noting(text[:limit], max(0, len(text) - limit))


def noting(kept: str, left_out: int) -> str:
    """``kept``, saying how many characters after it were left out (if any were)."""
    return f"{kept}… ({left_out} more characters)" if left_out else kept


def clip_frames(frames: list[Any]) -> list[Any]:
    if len(frames) <= MAX_ERROR_FRAMES:
        return frames
    half = MAX_ERROR_FRAMES // 2
    return frames[:half] + frames[-half:]
