"""Text from user code made fit for a message: capped, and cleaned of what the server refuses.

A frame larger than ``protocol.MAX_MESSAGE_BYTES`` is refused by the server, which closes the
connection; the worker would send it again on reconnecting, and again be refused. Values never
come near (large ones go to the blob store), but text does: a printed line, an exception's
message. Text past these caps is cut, saying how much was left out.

The server also refuses text holding NUL characters or lone surrogates (see
``coflux_wire.validation``). Values keep them (the value format wraps such strings), but a
printed line, a log template, an error's message or traceback is shown, not decoded: those
characters become U+FFFD, one for one, so the caps still count characters of the original.
"""

from __future__ import annotations

from typing import Any

from coflux_wire.values import UNSAFE_CHARACTER, is_safe_text

MAX_LOG_LINE = 16_384
"""Characters of a log entry's template (a captured line). A batch of ``[logs] batch_size``
such entries stays under the frame limit even when every character needs escaping in JSON."""
MAX_ERROR_MESSAGE = 65_536
"""Characters of an error's message."""
MAX_ERROR_FRAMES = 200
"""Traceback frames of an error: the outermost and innermost halves are kept."""


def clean(text: str) -> str:
    """``text`` with NUL characters and lone surrogates replaced by U+FFFD."""
    return text if is_safe_text(text) else UNSAFE_CHARACTER.sub("\ufffd", text)


def clip(text: str, limit: int) -> str:
    """``text`` cleaned and cut to ``limit`` characters, saying how many were left out."""
    return noting(text[:limit], max(0, len(text) - limit))


def noting(kept: str, left_out: int) -> str:
    """``kept``, cleaned, saying how many characters after it were left out (if any were)."""
    kept = clean(kept)
    return f"{kept}… ({left_out} more characters)" if left_out else kept


def clip_frames(frames: list[Any]) -> list[Any]:
    if len(frames) <= MAX_ERROR_FRAMES:
        return frames
    half = MAX_ERROR_FRAMES // 2
    return frames[:half] + frames[-half:]
