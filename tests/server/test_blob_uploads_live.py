"""Blob uploads to a real ``manage.py serve``: streamed to disk without growing the server, and
refused beyond ``COFLUX_MAX_BLOB_BYTES`` before the body is read."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from tests.processes import AUTH, Server

LIMIT = 1_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("blobs")).start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("small"), COFLUX_MAX_BLOB_BYTES=str(LIMIT)).start()
    try:
        yield started
    finally:
        started.close()


def memory_mb(server: Server, field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (the most so far) of the server process, in MB."""
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field}")


def blob_chunks(megabytes: int) -> tuple[str, Iterator[bytes]]:
    """A blob's key and its content, made a megabyte at a time."""
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    for number in range(megabytes):
        digest.update(number.to_bytes(8) + block[8:])

    def chunks() -> Iterator[bytes]:
        for number in range(megabytes):
            yield number.to_bytes(8) + block[8:]

    return digest.hexdigest(), chunks()


def assert_nothing_stored(server: Server, key: str) -> None:
    """Neither the blob nor a temporary file of an upload is in the server's blob directory."""
    files = [path for path in (server.data_dir / "blobs").rglob("*") if path.is_file()]
    assert [path for path in files if path.name == key[4:] or path.name.startswith(".")] == []


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
    assert response.json()["details"] == {"limit": LIMIT}


def test_a_200_mb_upload_does_not_grow_the_server(server):
    key, chunks = blob_chunks(200)
    small = os.urandom(3 * 1024 * 1024)  # a first upload, for what any upload allocates once
    httpx.put(
        f"{server.url}/blobs/{hashlib.sha256(small).hexdigest()}", content=small, headers=AUTH
    )
    before = memory_mb(server, "VmRSS")

    response = httpx.put(f"{server.url}/blobs/{key}", content=chunks, timeout=300, headers=AUTH)

    assert response.status_code == 204, response.text
    assert memory_mb(server, "VmHWM") - before < 50
    head = httpx.head(f"{server.url}/blobs/{key}", headers=AUTH)
    assert head.headers["content-length"] == str(200 * 1024 * 1024)


def answer_to_head(server: Server, head: str) -> tuple[bytes, dict[str, Any]]:
    """The status line and JSON body the server answers a request of which only the head
    (request line and headers) is sent."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head.encode())
        answer = b""
        while not answer.endswith(b"}"):
            received = connection.recv(4096)
            assert received, answer
            answer += received
    status, _, body = answer.partition(b"\r\n\r\n")
    return status.split(b"\r\n")[0], json.loads(body)


def test_a_body_declared_too_large_is_refused_before_it_is_sent(small_server):
    key = "0" * 64
    head = f"PUT /blobs/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: {10**12}\r\n\r\n"

    status, body = answer_to_head(small_server, head)

    assert status == b"HTTP/1.1 413 Content Too Large"
    assert body["error"] == "request_too_large"
    assert body["details"] == {"limit": LIMIT}
    assert_nothing_stored(small_server, key)


def test_an_api_body_is_bounded_by_the_api_limit_not_the_blob_one(server):
    path = "/api/projects/default/workspaces"
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {10**9}\r\n\r\n"

    status, body = answer_to_head(server, head)

    assert status == b"HTTP/1.1 413 Content Too Large"
    assert body["details"] == {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}


def test_a_body_too_large_is_refused_after_the_limit(small_server):
    content = os.urandom(LIMIT + 1)
    key = hashlib.sha256(content).hexdigest()

    response = httpx.put(f"{small_server.url}/blobs/{key}", content=content, headers=AUTH)

    assert_too_large(response)
    assert_nothing_stored(small_server, key)


def test_a_chunked_body_is_refused_once_it_grows_past_the_limit(small_server):
    key, chunks = blob_chunks(3)

    response = httpx.put(f"{small_server.url}/blobs/{key}", content=chunks, headers=AUTH)

    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_too_large(response)
    assert_nothing_stored(small_server, key)


def test_a_body_at_the_limit_is_stored_and_the_server_goes_on(small_server):
    content = os.urandom(LIMIT)
    key = hashlib.sha256(content).hexdigest()

    response = httpx.put(f"{small_server.url}/blobs/{key}", content=content, headers=AUTH)

    assert response.status_code == 204
    assert httpx.get(f"{small_server.url}/blobs/{key}", headers=AUTH).content == content
    assert httpx.get(f"{small_server.url}/api/discover", headers=AUTH).status_code == 200
