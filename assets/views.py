"""``/blobs/<key>``: the server's blob store over HTTP (SPEC §4).

``PUT`` stores the body under its key (204; 400 ``invalid_key``, 400 ``hash_mismatch``),
``GET`` returns it (404 if absent or if the key is not a key) and ``HEAD`` tells whether it is
there and its size. Large blobs are streamed both ways rather than held in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from assets.blobs import CHUNK, blob_path, store_blob
from coflux_server.api_async import async_api_view
from coflux_server.api_errors import error_response
from projects.errors import Code, DomainError

IN_MEMORY = 1024 * 1024
"""Blobs up to this size are read whole; larger ones are streamed."""


def _not_found(key: str) -> JsonResponse:
    return error_response(DomainError(f"No blob {key!r}.", code=Code.NOT_FOUND))


@csrf_exempt
@async_api_view(["GET", "HEAD", "PUT"])
async def blob(request: HttpRequest, key: str) -> HttpResponse:
    if request.method == "PUT":
        # Not in the thread the ORM's sync code shares: a large body must not hold it up.
        await sync_to_async(store_blob, thread_sensitive=False)(key, request.read)
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
