"""``/blobs/<key>``: the server's blob store over HTTP (SPEC §4).

``PUT`` stores the body under its key (204; 400 ``invalid_key``, 400 ``hash_mismatch``, 413
``request_too_large`` beyond ``COFLUX_MAX_BLOB_BYTES``), ``GET`` returns it (404 if absent or
if the key is not a key) and ``HEAD`` tells whether it is there and its size. Large blobs are
streamed both ways rather than held in memory. A body the request says is too large is refused
before it is read; one that grows too large as it is read (whatever its ``Content-Length``
said) as soon as it does. Under ``manage.py serve`` the server itself refuses such bodies
before the application sees them (``coflux_server.http_server``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema

from assets.blobs import CHUNK, blob_path, invalid_key, store_blob, too_large
from coflux_server.api_async import async_api_view
from coflux_server.api_errors import error_response
from coflux_server.api_schema import ACCESS, errors
from projects.actions import Action
from projects.errors import Code, DomainError
from projects.permissions import authorize

IN_MEMORY = 1024 * 1024
"""Blobs up to this size are read whole; larger ones are streamed."""
_DIGITS = re.compile(r"[0-9]{1,30}")


def _not_found(key: str) -> JsonResponse:
    return error_response(DomainError(f"No blob {key!r}.", code=Code.NOT_FOUND))


_BLOB = OpenApiResponse(OpenApiTypes.BINARY, description="The blob's content.")


@extend_schema(
    methods=["GET"],
    operation_id="blobs_get",
    responses={(200, "application/octet-stream"): _BLOB, **errors(*ACCESS, Code.NOT_FOUND)},
)
@extend_schema(
    methods=["PUT"],
    operation_id="blobs_put",
    request={"application/octet-stream": OpenApiTypes.BINARY},
    responses={
        204: OpenApiResponse(description="Stored (or there already)."),
        **errors(*ACCESS, Code.INVALID_KEY, Code.HASH_MISMATCH, Code.REQUEST_TOO_LARGE),
    },
)
@async_api_view(["GET", "HEAD", "PUT"])
async def blob(request: HttpRequest, key: str) -> HttpResponse:
    """A blob of the server's store, by its key: the SHA-256 of its content, 64 lowercase
    hexadecimal digits. PUT stores the body if it hashes to the key; GET returns it and HEAD
    tells its size."""
    # Blobs belong to no workspace (one is shared by every value with its content): reading one
    # takes the view grant somewhere, storing one the operate grant somewhere.
    reading = request.method in ("GET", "HEAD")
    authorize(request, Action.VIEW if reading else Action.OPERATE)
    if request.method == "PUT":
        if blob_path(key) is None:
            raise invalid_key()
        limit = settings.COFLUX_MAX_BLOB_BYTES
        length = request.headers.get("Content-Length", "")
        if _DIGITS.fullmatch(length) and int(length) > limit:
            raise too_large(limit)
        # Not in the thread the ORM's sync code shares: a large body must not hold it up.
        await sync_to_async(store_blob, thread_sensitive=False)(key, request.read, limit)
        return HttpResponse(status=204)
    path = blob_path(key)
    size = await asyncio.to_thread(_size, path) if path is not None else None
    if path is None or size is None:
        return _not_found(key)
    headers = {"Content-Length": str(size), "Cache-Control": "public, max-age=31536000, immutable"}
    content_type = "application/octet-stream"
    if request.method == "HEAD":
        return HttpResponse(content_type=content_type, headers=headers)
    if size <= IN_MEMORY:
        content = await asyncio.to_thread(path.read_bytes)
        return HttpResponse(content, content_type=content_type, headers=headers)
    return StreamingHttpResponse(_chunks(path), content_type=content_type, headers=headers)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    file = await asyncio.to_thread(open, path, "rb")
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk
    finally:
        file.close()
