"""Blob stores in order, the local cache, and the ``[blobs]`` settings (SPEC §4, §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coflux._blobs import (
    BlobNotFound,
    Blobs,
    HttpStore,
    MemoryStore,
    S3Store,
    is_key,
    key_of,
)
from coflux._config import BlobsConfig, BlobStoreConfig, Config, ConfigError, load_config

DATA = b"some content"
KEY = key_of(DATA)


def test_keys_are_64_lowercase_hex_digits():
    assert is_key(KEY)
    for key in (KEY.upper(), KEY[:-1], KEY + "0", "../" + KEY[3:], None, 7):
        assert not is_key(key)


def test_it_writes_the_first_store_and_reads_them_all_in_order():
    first, second = MemoryStore(), MemoryStore()
    second.put(key_of(b"only here"), b"only here")
    both = Blobs([first, second])

    assert both.put(DATA) == KEY
    assert first.blobs == {KEY: DATA} and not second.has(KEY)
    assert both.get(key_of(b"only here")) == b"only here"
    with pytest.raises(BlobNotFound):
        both.get("0" * 64)


def test_a_blob_is_written_once():
    store = MemoryStore()
    blobs = Blobs([store])
    blobs.put(DATA)
    blobs.put(DATA)
    assert store.puts == 1


def test_a_damaged_copy_is_skipped_for_a_good_one(tmp_path: Path):
    damaged, good = MemoryStore(), MemoryStore()
    damaged.blobs[KEY] = b"not what the key says"
    good.blobs[KEY] = DATA
    blobs = Blobs([damaged, good], cache=tmp_path / "cache")

    assert blobs.get(KEY) == DATA
    assert blobs.fetch(KEY, tmp_path / "out" / "file").read_bytes() == DATA
    only_damaged = Blobs([damaged])
    with pytest.raises(BlobNotFound):
        only_damaged.get(KEY)
    with pytest.raises(BlobNotFound):
        only_damaged.fetch(KEY, tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["file"]  # no temporary files


def test_fetched_blobs_are_cached_and_checked(tmp_path: Path):
    store = MemoryStore()
    store.blobs[KEY] = DATA
    cache = tmp_path / "cache"
    blobs = Blobs([store], cache=cache)

    assert blobs.get(KEY) == DATA
    cached = cache / KEY[:2] / KEY
    assert cached.read_bytes() == DATA
    del store.blobs[KEY]
    assert blobs.get(KEY) == DATA  # from the cache
    assert Blobs([MemoryStore()], cache=cache).fetch(KEY, tmp_path / "f").read_bytes() == DATA

    cached.write_bytes(b"corrupted")
    with pytest.raises(BlobNotFound):
        blobs.get(KEY)
    assert not cached.exists()


def test_fetch_writes_files_whole_or_not_at_all(tmp_path: Path):
    store = MemoryStore()
    store.blobs[KEY] = DATA
    target = tmp_path / "a" / "b.txt"
    target.parent.mkdir()
    target.write_bytes(b"old")

    Blobs([store]).fetch(KEY, target)

    assert target.read_bytes() == DATA
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.txt"]


def test_files_are_stored_by_content(tmp_path: Path):
    store = MemoryStore()
    path = tmp_path / "data.bin"
    path.write_bytes(DATA * 1000)

    key, size = Blobs([store]).put_file(path)

    assert (key, size) == (key_of(DATA * 1000), len(DATA) * 1000)
    assert store.blobs[key] == DATA * 1000


def test_an_s3_store_keeps_blobs_under_its_prefix(tmp_path: Path, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="coflux-blobs")
        store = S3Store("coflux-blobs", prefix="team/blobs/", region="us-east-1")
        blobs = Blobs([store])

        assert not store.has(KEY)
        blobs.put(DATA)
        assert store.has(KEY)
        big = tmp_path / "big"
        big.write_bytes(b"x" * 100_000)
        big_key, _ = blobs.put_file(big)

        names = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="coflux-blobs")["Contents"])
        assert names == sorted([f"team/blobs/{KEY}", f"team/blobs/{big_key}"])
        assert blobs.get(KEY) == DATA
        assert blobs.fetch(big_key, tmp_path / "copy").read_bytes() == b"x" * 100_000
        assert store.get("0" * 64) is None


def test_an_http_store_is_the_default(tmp_path: Path):
    config = Config(host="example.com:7777", secure=True, token="t")
    blobs = Blobs.from_config(config)
    [store] = blobs.stores
    assert isinstance(store, HttpStore) and store.url == "https://example.com:7777"
    assert blobs.threshold == 200


def test_configured_stores_come_in_order(tmp_path: Path):
    (tmp_path / "coflux.toml").write_text(
        """
        [blobs]
        threshold = 1000
        cache = "cache-dir"
        cache_size = 5000

        [[blobs.stores]]
        type = "s3"
        bucket = "b"
        prefix = "p"
        region = "eu-west-1"

        [[blobs.stores]]
        url = "http://blobs.localhost:9000"

        [[blobs.stores]]
        type = "http"
        host = "old.example.com"
        protocol = "https"
        """
    )
    config = load_config(environ={}, cwd=tmp_path)

    assert config.blobs == BlobsConfig(
        threshold=1000,
        cache="cache-dir",
        cache_size=5000,
        stores=(
            BlobStoreConfig(type="s3", bucket="b", prefix="p", region="eu-west-1"),
            BlobStoreConfig(url="http://blobs.localhost:9000"),
            BlobStoreConfig(url="https://old.example.com"),
        ),
    )
    stores = Blobs.from_config(config).stores
    assert [type(store) for store in stores] == [S3Store, HttpStore, HttpStore]
    assert Blobs.from_config(config).cache.limit == 5000
    environ = {
        "COFLUX_BLOBS_THRESHOLD": "0",
        "COFLUX_BLOBS_CACHE": "/elsewhere",
        "COFLUX_BLOBS_CACHE_SIZE": "0",
    }
    overridden = load_config(environ=environ, cwd=tmp_path).blobs
    assert (overridden.threshold, overridden.cache, overridden.cache_size) == (0, "/elsewhere", 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[blobs]\nthreshold = -1", "blobs.threshold"),
        ("[blobs]\ncache_size = 'big'", "blobs.cache_size"),
        ("[blobs]\nsize = 1", "unknown setting blobs.size"),
        ("[blobs]\nstores = 3", "blobs.stores"),
        ("[[blobs.stores]]\ntype = 'ftp'", "http or s3"),
        ("[[blobs.stores]]\ntype = 's3'", "needs a bucket"),
        ("[[blobs.stores]]\ntype = 's3'\nbucket = 'b'\nurl = 'x'", "unknown setting"),
        ("[[blobs.stores]]\nurl = 3", "must be a non-empty string"),
        ("blobs = 1", "must be a table"),
    ],
)
def test_invalid_blob_settings_are_errors(tmp_path: Path, text: str, message: str):
    (tmp_path / "coflux.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(environ={}, cwd=tmp_path)
