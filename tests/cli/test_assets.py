"""``coflux assets`` and ``coflux blobs`` against the session's real server, with assets made
by the SDK (as ``cf.asset`` does, from outside an execution)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from coflux import _blobs as blobs
from coflux._assets import Asset, collect, create
from coflux._blobs import Blobs, HttpStore, key_of
from coflux._client import ApiError, Client
from coflux._config import Config
from tests.processes import SUPER_TOKEN

FILES = {"a.txt": b"alpha\n", "data/b.csv": b"x,y\n1,2\n", "data/c.bin": bytes(300)}


@pytest.fixture
def server_blobs(live_server_url: str) -> Blobs:
    return Blobs([HttpStore(live_server_url, token=SUPER_TOKEN)])


@pytest.fixture
def asset(tmp_path: Path, client: Client, server_blobs: Blobs) -> Asset:
    source = tmp_path / "source"
    for relative, content in FILES.items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_bytes(content)
    return create(collect(None, at=source), name="sample", blobs=server_blobs, client=client)


def test_the_http_store_puts_checks_and_gets_blobs(live_server_url: str, tmp_path: Path):
    store = HttpStore(live_server_url, token=SUPER_TOKEN)
    data = b"stored over http"
    key = key_of(data)

    store.put(key, data)

    assert store.has(key)
    assert store.get(key) == data
    assert not store.has("0" * 64)
    assert store.get("0" * 64) is None
    out = io.BytesIO()
    assert store.get_into(key, out) and out.getvalue() == data
    path = tmp_path / "f"
    path.write_bytes(b"file content" * 10_000)
    store.put_file(key_of(path.read_bytes()), path)
    assert store.get(key_of(path.read_bytes())) == path.read_bytes()
    with pytest.raises(blobs.BlobError, match="400"):
        store.put("1" * 64, data)


def test_an_asset_made_by_the_sdk_reads_back_lazily(asset: Asset, client: Client):
    config = Config(host=client.base_url.removeprefix("http://"), token=SUPER_TOKEN)
    blobs.configure(config)
    try:
        again = Asset.reference(asset.id, "sample", 3, 0)
        assert sorted(entry.path for entry in again.entries) == sorted(FILES)
        assert again["data/b.csv"].metadata == {"type": "text/csv"}
        assert "data/c.bin" in again
    finally:
        blobs.configure(None)


def test_inspect_shows_the_entries(run_cli, asset: Asset):
    shown = run_cli.json("assets", "inspect", asset.id, "-o", "json")
    assert shown["name"] == "sample"
    assert shown["entries"]["data/c.bin"] == {
        "blobKey": key_of(bytes(300)),
        "size": 300,
        "metadata": {"type": "application/octet-stream"},
    }
    text = run_cli("assets", "inspect", asset.id, "--match", "*.csv")
    assert text.exit_code == 0, text.output
    assert "data/b.csv" in text.output and "a.txt" not in text.output
    assert "3 files" in text.output


def test_download_writes_the_files(run_cli, asset: Asset, tmp_path: Path):
    result = run_cli("assets", "download", asset.id, "--to", str(tmp_path / "out"), "-o", "json")
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert sorted(files) == sorted(FILES)
    for relative, content in FILES.items():
        assert (tmp_path / "out" / relative).read_bytes() == content


def test_download_refuses_to_replace_files_without_force(run_cli, asset: Asset, tmp_path: Path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_bytes(b"mine")

    refused = run_cli("assets", "download", asset.id, "--to", str(tmp_path / "out"))
    assert refused.exit_code == 1
    assert "--force" in refused.output
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"mine"
    assert not (tmp_path / "out" / "data").exists()

    matched = run_cli(
        "assets", "download", asset.id, "--to", str(tmp_path / "out"), "--match", "*.csv"
    )
    assert matched.exit_code == 0, matched.output
    assert (tmp_path / "out" / "data" / "b.csv").read_bytes() == FILES["data/b.csv"]

    forced = run_cli("assets", "download", asset.id, "--to", str(tmp_path / "out"), "--force")
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "out" / "a.txt").read_bytes() == FILES["a.txt"]


def test_a_missing_asset_is_an_error(run_cli):
    result = run_cli("assets", "inspect", "Amissing")
    assert result.exit_code == 1
    assert "No asset 'Amissing'" in result.output


def test_blobs_get_writes_the_content(run_cli, asset: Asset, tmp_path: Path):
    key = key_of(FILES["data/c.bin"])
    result = run_cli("blobs", "get", key)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == FILES["data/c.bin"]

    target = tmp_path / "blob"
    assert run_cli("blobs", "get", key, "-o", str(target)).exit_code == 0
    assert target.read_bytes() == FILES["data/c.bin"]


@pytest.mark.parametrize("key", ["../etc/passwd", "ABC", "0" * 63])
def test_blobs_get_refuses_what_is_not_a_key(run_cli, key: str):
    result = run_cli("blobs", "get", key)
    assert result.exit_code == 2
    assert "64 lowercase hexadecimal digits" in result.output


def test_blobs_get_reports_a_missing_blob(run_cli):
    result = run_cli("blobs", "get", "0" * 64)
    assert result.exit_code == 1
    assert "none of the stores" in result.output


def test_the_client_refuses_an_asset_with_a_bad_path(client: Client):
    with pytest.raises(ApiError) as error:
        client.create_asset({"../x": {"blobKey": "0" * 64, "size": 0}})
    assert error.value.code == "invalid_request"
