"""Assets in the SDK: what ``cf.asset`` selects, how it stores it, restoring (SPEC §2.3).

The server is played by a fake client; blobs are kept in memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import coflux as cf
from coflux import _blobs as blobs
from coflux._assets import Asset, AssetEntry, AssetMetadata, collect, create, entry_path, matches
from coflux._blobs import Blobs, MemoryStore, key_of


class FakeServer:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create_asset(self, entries, *, name=None, execution=None):
        self.created.append({"entries": entries, "name": name, "execution": execution})
        return {
            "id": f"A{len(self.created)}",
            "name": name,
            "count": len(entries),
            "size": sum(entry["size"] for entry in entries.values()),
        }


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    blobs.use(Blobs([store]))
    yield store
    blobs.use(None)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch) -> Path:
    """A working directory with a few files."""
    work = tmp_path / "work"
    for relative, content in {
        "a.txt": "A",
        "data/one.csv": "1",
        "data/two.csv": "22",
        "data/deep/three.json": "{}",
    }.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    monkeypatch.chdir(work)
    return work


def paths(sources: dict) -> list[str]:
    return sorted(sources)


def test_nothing_selects_every_file_of_the_working_directory(tree: Path):
    assert paths(collect(None)) == ["a.txt", "data/deep/three.json", "data/one.csv", "data/two.csv"]
    assert collect(None)["a.txt"] == tree / "a.txt"


def test_a_path_selects_a_file_or_a_directory(tree: Path):
    assert paths(collect("a.txt")) == ["a.txt"]
    assert paths(collect(Path("data/one.csv"))) == ["data/one.csv"]
    assert paths(collect("data/deep")) == ["data/deep/three.json"]
    with pytest.raises(FileNotFoundError):
        collect("missing.txt")


def test_at_is_the_base_of_paths(tree: Path):
    assert paths(collect(None, at="data")) == ["deep/three.json", "one.csv", "two.csv"]
    assert paths(collect("one.csv", at=tree / "data")) == ["one.csv"]


def test_a_file_outside_the_base_keeps_its_name(tree: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(b"x")
    assert paths(collect(str(outside))) == ["elsewhere.bin"]


def test_a_list_combines_its_items(tree: Path):
    assert paths(collect(["a.txt", "data/deep"])) == ["a.txt", "data/deep/three.json"]


def test_match_filters_entry_paths(tree: Path):
    assert paths(collect(None, match="*.csv")) == ["data/one.csv", "data/two.csv"]
    assert paths(collect(None, match="data/*")) == [
        "data/deep/three.json",
        "data/one.csv",
        "data/two.csv",
    ]
    assert paths(collect(None, match="**/*.{txt,json}")) == ["a.txt", "data/deep/three.json"]


def test_a_dict_names_the_entries(tree: Path):
    entry = AssetEntry("x/y.bin", "e" * 64, 4, {"type": "application/octet-stream"})
    reused = Asset("A9", AssetMetadata(None, 1, 9), [AssetEntry("z.txt", "f" * 64, 9)])
    sources = collect(
        {"report.txt": "a.txt", "tables": "data", "copy.bin": entry, "old": reused},
    )
    assert paths(sources) == [
        "copy.bin",
        "old/z.txt",
        "report.txt",
        "tables/deep/three.json",
        "tables/one.csv",
        "tables/two.csv",
    ]
    assert sources["copy.bin"] is entry


def test_a_dict_does_not_take_at(tree: Path):
    with pytest.raises(ValueError, match="at="):
        collect({"a": "a.txt"}, at="data")


@pytest.mark.parametrize("entries", [[], "data/deep", {"k": "a.txt"}, None])
def test_selecting_nothing_is_an_error(tree: Path, entries):
    with pytest.raises(ValueError, match="nothing selected"):
        collect(entries, match="*.none")


def test_dict_keys_must_stay_inside_the_asset(tree: Path):
    for key in ("../a", "/abs", "", "a/../../b"):
        with pytest.raises(ValueError):
            collect({key: "a.txt"})


def test_other_things_are_refused(tree: Path):
    with pytest.raises(TypeError):
        collect(3)
    with pytest.raises(TypeError):
        collect({"k": 3})


def test_entry_paths_are_normalised():
    assert entry_path("./a//b/./c") == "a/b/c"
    assert entry_path("a\\b") == "a/b"
    for bad in ("..", "a/../..", "/a", ".", ""):
        with pytest.raises(ValueError):
            entry_path(bad)


def test_matching_patterns():
    assert matches("a/b/c.csv", "*.csv")
    assert matches("c.csv", "**/*.csv")
    assert matches("a/c.csv", "a/**/*.csv")
    assert matches("x.png", "*.{png,jpg}") and not matches("x.gif", "*.{png,jpg}")
    assert not matches("a/c.csv", "b/*")


def test_it_uploads_files_and_records_the_asset(tree: Path, store: MemoryStore):
    server = FakeServer()

    asset = create(collect("data", match="*.csv"), name="tables", client=server)

    [recorded] = server.created
    assert recorded["name"] == "tables"
    assert recorded["entries"] == {
        "data/one.csv": {"blobKey": key_of(b"1"), "size": 1, "metadata": {"type": "text/csv"}},
        "data/two.csv": {"blobKey": key_of(b"22"), "size": 2, "metadata": {"type": "text/csv"}},
    }
    assert store.blobs == {key_of(b"1"): b"1", key_of(b"22"): b"22"}
    assert asset.id == "A1"
    assert asset.metadata == AssetMetadata("tables", 2, 3)
    assert "data/one.csv" in asset and "a.txt" not in asset
    assert asset["data/two.csv"].size == 2
    with pytest.raises(KeyError):
        asset["nope"]


def test_entries_of_other_assets_are_reused_without_upload(tree: Path, store: MemoryStore):
    server = FakeServer()
    first = create(collect("data"), client=server)
    puts = store.puts
    os.remove("data/one.csv")  # nothing to upload from, nor needed

    combined = create(
        collect({"tables": first, "extra.csv": first["data/two.csv"]}, match="*.csv"),
        client=server,
    )

    assert store.puts == puts
    assert sorted(server.created[1]["entries"]) == [
        "extra.csv",
        "tables/data/one.csv",
        "tables/data/two.csv",
    ]
    assert combined["tables/data/one.csv"].blob_key == first["data/one.csv"].blob_key


def test_restoring_writes_entries_under_at(tree: Path, store: MemoryStore, tmp_path: Path):
    asset = create(collect(None), client=FakeServer())

    restored = asset.restore(match="data/*.csv", at=tmp_path / "out")

    assert restored == {
        "data/one.csv": tmp_path / "out" / "data" / "one.csv",
        "data/two.csv": tmp_path / "out" / "data" / "two.csv",
    }
    assert (tmp_path / "out/data/two.csv").read_text() == "22"
    assert sorted(asset.restore(to=tmp_path / "all")) == sorted(p for p in collect(None))
    assert asset["a.txt"].restore(at=tmp_path / "single") == tmp_path / "single" / "a.txt"
    with pytest.raises(ValueError):
        asset.restore(at="x", to="y")


def test_restoring_defaults_to_the_working_directory(tree: Path, store: MemoryStore, tmp_path):
    asset = create(collect("a.txt"), client=FakeServer())
    os.chdir(tmp_path)
    assert asset.restore() == {"a.txt": tmp_path / "a.txt"}


def test_an_entry_cannot_be_restored_outside_the_directory(store: MemoryStore, tmp_path: Path):
    bad = AssetEntry("../escape.txt", key_of(b"x"), 1)
    with pytest.raises(ValueError):
        bad.restore(at=tmp_path)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_asset_needs_an_execution():
    with pytest.raises(RuntimeError, match="Not in an execution context"):
        cf.asset()
