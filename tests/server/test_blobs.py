"""The server's blob store, ``/blobs/<key>`` (SPEC §4 and §8 test_blobs)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import httpx
import pytest
from django.test import Client

from assets.blobs import store_blob
from projects.errors import Code, DomainError
from tests.processes import AUTH

CONTENT = b"the content of a blob\n"
KEY = hashlib.sha256(CONTENT).hexdigest()
INVALID_KEYS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "../" + KEY[3:],
    KEY[:63],
    KEY + "0",
    "g" * 64,
    KEY.upper(),
    KEY[:62] + "/x",
    "",
]


@pytest.fixture
def data_dir(settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR


def put(client: Client, key: str, body: bytes):
    return client.generic("PUT", f"/blobs/{key}", body, content_type="application/octet-stream")


def files_under(directory: Path) -> list[str]:
    return sorted(
        str(Path(root, name).relative_to(directory))
        for root, _, names in os.walk(directory)
        for name in names
    )


def test_it_stores_a_blob_under_its_key_and_serves_it(client: Client, data_dir: Path):
    response = put(client, KEY, CONTENT)
    assert response.status_code == 204

    got = client.get(f"/blobs/{KEY}")
    assert got.status_code == 200
    assert got.content == CONTENT
    assert got["Content-Type"] == "application/octet-stream"
    head = client.head(f"/blobs/{KEY}")
    assert head.status_code == 200
    assert head["Content-Length"] == str(len(CONTENT))
    assert files_under(data_dir) == [f"blobs/{KEY[:2]}/{KEY[2:4]}/{KEY[4:]}"]


def test_storing_it_again_is_accepted_and_changes_nothing(client: Client, data_dir: Path):
    assert put(client, KEY, CONTENT).status_code == 204
    path = data_dir / "blobs" / KEY[:2] / KEY[2:4] / KEY[4:]
    inode = path.stat().st_ino

    assert put(client, KEY, CONTENT).status_code == 204
    assert path.stat().st_ino == inode
    assert files_under(data_dir) == [f"blobs/{KEY[:2]}/{KEY[2:4]}/{KEY[4:]}"]


def test_it_refuses_a_body_that_does_not_hash_to_the_key(client: Client, data_dir: Path):
    response = put(client, KEY, CONTENT + b"tampered")

    assert response.status_code == 400
    assert response.json()["error"] == "hash_mismatch"
    assert files_under(data_dir) == []
    assert client.get(f"/blobs/{KEY}").status_code == 404


def test_it_refuses_a_wrong_body_for_a_blob_it_has(client: Client, data_dir: Path):
    put(client, KEY, CONTENT)

    response = put(client, KEY, b"something else")

    assert response.json()["error"] == "hash_mismatch"
    assert client.get(f"/blobs/{KEY}").content == CONTENT


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_get_refuses_invalid_keys(client: Client, data_dir: Path, key: str):
    response = client.get(f"/blobs/{key}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_head_refuses_invalid_keys(client: Client, data_dir: Path, key: str):
    assert client.head(f"/blobs/{key}").status_code == 404


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_put_refuses_invalid_keys(client: Client, data_dir: Path, key: str):
    response = put(client, key, CONTENT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_key"


def test_invalid_keys_create_no_file_anywhere(client: Client, data_dir: Path, tmp_path: Path):
    before = files_under(tmp_path)
    for key in INVALID_KEYS:
        put(client, key, CONTENT)
        client.get(f"/blobs/{key}")
    # Neither in the data directory nor next to it (where ``../`` would lead).
    assert files_under(tmp_path) == before
    assert not (data_dir / "blobs").exists()


def test_a_missing_blob_is_not_found(client: Client, data_dir: Path):
    assert client.get(f"/blobs/{'0' * 64}").status_code == 404
    assert client.head(f"/blobs/{'0' * 64}").status_code == 404


def test_other_methods_are_not_allowed(client: Client, data_dir: Path):
    response = client.post(f"/blobs/{KEY}", CONTENT, content_type="application/octet-stream")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, PUT"


def test_it_writes_the_body_in_chunks_without_holding_it(data_dir: Path):
    content = os.urandom(3 * 1024 * 1024 + 5)
    key = hashlib.sha256(content).hexdigest()
    reads = []

    def read(size: int) -> bytes:
        offset = sum(reads)
        chunk = content[offset : offset + size]
        reads.append(len(chunk))
        return chunk

    assert store_blob(key, read, len(content)) is True
    assert max(reads) <= 1024 * 1024
    assert (data_dir / "blobs" / key[:2] / key[2:4] / key[4:]).read_bytes() == content


def test_large_blobs_travel_whole_through_a_real_server(live_server_url: str):
    content = os.urandom(5 * 1024 * 1024 + 3)
    key = hashlib.sha256(content).hexdigest()
    url = f"{live_server_url}/blobs/{key}"

    assert httpx.put(url, content=content, headers=AUTH, timeout=60).status_code == 204
    assert httpx.head(url, headers=AUTH).headers["content-length"] == str(len(content))
    with httpx.stream("GET", url, headers=AUTH, timeout=60) as response:
        assert response.status_code == 200
        received = b"".join(response.iter_bytes())
    assert received == content
    wrong = httpx.put(
        f"{live_server_url}/blobs/{'1' * 64}", content=content, headers=AUTH, timeout=60
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "hash_mismatch"


def test_it_refuses_a_body_larger_than_the_limit(client: Client, data_dir: Path, settings):
    settings.COFLUX_MAX_BLOB_BYTES = len(CONTENT) - 1

    response = put(client, KEY, CONTENT)

    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
    assert response.json()["details"] == {"limit": len(CONTENT) - 1}
    assert files_under(data_dir) == []


def test_a_body_at_the_limit_is_stored(client: Client, data_dir: Path, settings):
    settings.COFLUX_MAX_BLOB_BYTES = len(CONTENT)

    assert put(client, KEY, CONTENT).status_code == 204


@pytest.mark.parametrize("stored", [False, True])
def test_a_body_is_counted_as_it_is_read_whatever_its_length_said(data_dir: Path, stored: bool):
    content = os.urandom(3 * 1024 * 1024)
    key = hashlib.sha256(content).hexdigest()
    if stored:
        store_blob(key, io.BytesIO(content).read, len(content))
    before = files_under(data_dir)

    with pytest.raises(DomainError) as refused:
        store_blob(key, io.BytesIO(content).read, len(content) - 1)

    assert refused.value.code == Code.REQUEST_TOO_LARGE
    assert files_under(data_dir) == before
