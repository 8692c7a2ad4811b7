"""Values, blobs and assets end to end: a real server, real workers on two roles, the CLI.

Workers keep the blobs they fetch in caches of their own, so what a reader restores came from
the server's blob store, not from the writer's cache.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from types import SimpleNamespace

import httpx
import pytest

from coflux._assets import AssetEntry
from coflux._blobs import Blobs, HttpStore
from coflux._serialization import deserialize
from tests.e2e.flows.data import FILES
from tests.processes import AUTH, ROOT, SUPER_TOKEN, Server, Worker, cli, cli_env, cli_json

pytestmark = pytest.mark.e2e

DATA = "tests.e2e.flows.data"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    server = Server(root / "server", XDG_CACHE_HOME=str(root / "cache")).start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def workers(server, tmp_path_factory):
    cli(server, "manifests", "register", DATA, check=True)
    started = {}
    for role in ("writer", "reader"):
        config = tmp_path_factory.mktemp(role) / "coflux.toml"
        config.write_text(f'[blobs]\ncache = "{config.parent / "blobs"}"\n')
        options = ("-c", str(config), "--provides", f"role:{role}")
        started[role] = Worker(server, *options, DATA, register=False)
    yield SimpleNamespace(**started)
    for worker in started.values():
        worker.kill()


def outcome(server: Server, run_id: str):
    """The run's value, decoded with blobs fetched from the server's store."""
    result = server.result(run_id)
    assert result["status"] == "succeeded", result
    return deserialize(
        result["result"]["value"], blobs=Blobs([HttpStore(server.url, token=SUPER_TOKEN)])
    )


def run(server: Server, target: str, *arguments):
    return outcome(server, server.submit(DATA, target, *arguments))


def blob_files(server: Server) -> dict[str, int]:
    root = server.data_dir / "blobs"
    return {
        "".join(path.relative_to(root).parts): path.stat().st_size
        for path in root.rglob("*")
        if path.is_file()
    }


def test_a_5_mb_result_travels_through_the_blob_store_and_back(server, workers):
    size = 5 * 1024 * 1024
    value = run(server, "big_bytes", size)

    assert value["received"] is True
    assert value["measured"]["size"] == size
    [key] = [key for key, length in blob_files(server).items() if length == size]
    assert value["measured"]["sha256"] == key
    content = httpx.get(f"{server.url}/blobs/{key}", headers=AUTH, timeout=60).content
    assert digest(content) == key


def test_an_asset_is_restored_in_part_on_another_worker(server, workers):
    value = run(server, "share", "reports/*.csv")

    asset, restored = value["asset"], value["restored"]
    assert restored["files"] == {
        "reports/2024.csv": digest(FILES["reports/2024.csv"]),
        "reports/2025.csv": digest(FILES["reports/2025.csv"]),
    }
    assert restored["inside"] is True
    assert restored["entries"] == sorted(FILES)
    total = sum(len(content) for content in FILES.values())
    assert restored["metadata"] == ["reports", len(FILES), total]
    assert (asset.metadata.total_count, asset.metadata.total_size) == (len(FILES), total)
    assert {entry.path: entry.blob_key for entry in asset_entries(server, asset.id)} == {
        path: digest(content) for path, content in FILES.items()
    }


def asset_entries(server: Server, asset_id: str) -> list[AssetEntry]:
    found = server.api("GET", f"/assets/{asset_id}").json()
    return [AssetEntry(e["path"], e["blobKey"], e["size"], e["metadata"]) for e in found["entries"]]


def test_assets_are_combined_and_filtered_without_uploading_again(server, workers):
    value = run(server, "merge")

    kept = {path: content for path, content in FILES.items() if path.endswith((".csv", ".json"))}
    expected = {
        f"{prefix}/{path}": digest(content)
        for prefix in ("first", "second")
        for path, content in kept.items()
    }
    expected["summary.json"] = digest(FILES["reports/deep/summary.json"])
    combined = asset_entries(server, value["combined"].id)
    # ``combine`` ran in an empty working directory: it could only reuse the entries.
    assert {entry.path: entry.blob_key for entry in combined} == expected
    assert value["combined"].metadata.name == "combined"
    assert value["restored"]["files"] == {
        f"second/{path}": digest(content) for path, content in kept.items()
    }
    first = asset_entries(server, value["first"].id)
    assert {entry.path for entry in first} == set(FILES)


def test_the_cli_inspects_and_downloads_an_asset_and_reads_blobs(server, workers, tmp_path):
    asset = run(server, "share", None)["asset"]

    code, inspected = cli_json(server, "assets", "inspect", asset.id, "-o", "json")
    assert code == 0, inspected
    assert inspected["name"] == "reports"
    assert inspected["entries"]["notes.txt"] == {
        "blobKey": digest(FILES["notes.txt"]),
        "size": len(FILES["notes.txt"]),
        "metadata": {"type": "text/plain"},
    }
    code, matching = cli_json(
        server, "assets", "inspect", asset.id, "--match", "*.csv", "-o", "json"
    )
    assert sorted(matching["entries"]) == ["reports/2024.csv", "reports/2025.csv"]
    text = cli(server, "assets", "inspect", asset.id, check=True).stdout
    assert "reports" in text and "image.bin" in text

    target = tmp_path / "download"
    cli(server, "assets", "download", asset.id, "--to", str(target), check=True)
    assert {
        str(path.relative_to(target)): path.read_bytes()
        for path in target.rglob("*")
        if path.is_file()
    } == FILES
    again = cli(server, "assets", "download", asset.id, "--to", str(target), "--match", "*.txt")
    assert again.returncode == 1 and "--force" in again.stderr
    (target / "notes.txt").write_bytes(b"changed")
    forced = ("--to", str(target), "--match", "*.txt", "--force")
    cli(server, "assets", "download", asset.id, *forced, check=True)
    assert (target / "notes.txt").read_bytes() == FILES["notes.txt"]

    key = digest(FILES["image.bin"])
    output = tmp_path / "blob.bin"
    cli(server, "blobs", "get", key, "-o", str(output), check=True)
    assert output.read_bytes() == FILES["image.bin"]
    missing = cli(server, "blobs", "get", "0" * 64)
    assert missing.returncode == 1 and "0" * 64 in missing.stderr


def test_blobs_get_writes_to_standard_output(server, workers):
    asset = run(server, "share", "notes.txt")["asset"]
    process = subprocess.run(
        [sys.executable, "-m", "coflux", "blobs", "get", digest(FILES["image.bin"])],
        cwd=ROOT,
        env=cli_env(server),
        capture_output=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout == FILES["image.bin"]
    assert asset.id.startswith("A")


def test_asset_refuses_a_dict_with_at(server, workers):
    assert run(server, "dict_with_at") == (
        "at= cannot be combined with a dict of entries: its keys are the paths"
    )


def test_the_run_snapshot_shows_an_asset_reference(server, workers):
    run_id = server.submit(DATA, "share", "notes.txt")
    outcome(server, run_id)
    value = server.run(run_id)["result"]["value"]
    [ref] = [ref for ref in value["refs"] if ref["type"] == "asset"]
    assert (ref["name"], ref["count"]) == ("reports", len(FILES))
