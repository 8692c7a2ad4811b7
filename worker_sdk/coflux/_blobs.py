"""Blobs: content-addressed byte strings kept outside the messages that refer to them.

A blob's key is the SHA-256 of its content in lowercase hex, so anyone holding a key can check
what a store returned. Values too large to travel inline, fragments (bytes, pickles, models,
data frames) and the files of assets are blobs (SPEC §4).

``Blobs`` combines the configured stores (``[[blobs.stores]]``): the first one is written, all
are read in order, and blobs that were fetched are kept in a local cache directory, checked
against their key before they are kept and before they are used. Stores::

    HttpStore   the server's ``/blobs/<key>`` (the default store) or another such server
    S3Store     a bucket (boto3, imported only when the store is used)
    MemoryStore a dict, for tests

Each process has a current ``Blobs`` (``current()``), made on first use from the settings
``configure`` was given (the worker gives its executors its own), else from the environment
and ``coflux.toml``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx

from ._blobcache import BlobCache, default_directory
from ._config import BlobStoreConfig, Config, load_config
from ._version import __version__

KEY = re.compile(r"[0-9a-f]{64}")
CHUNK = 1024 * 1024
SMALL = 64 * 1024
"""Blobs up to this size are written without asking first whether the store has them."""


class BlobError(Exception):
    """A blob could not be stored or fetched."""


class BlobNotFound(BlobError, LookupError):
    pass


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_key(key: object) -> bool:
    return isinstance(key, str) and KEY.fullmatch(key) is not None


def check_key(key: str) -> str:
    if not is_key(key):
        raise ValueError(f"not a blob key (64 lowercase hex digits): {key!r}")
    return key


def hash_file(path: Path) -> tuple[str, int]:
    """The key and size of a file's content, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# --- stores --------------------------------------------------------------------------------


class BlobStore(ABC):
    """Where blobs are kept. Stores trust their callers to pass keys that match the content."""

    @abstractmethod
    def has(self, key: str) -> bool: ...

    @abstractmethod
    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None:
        self.put(key, path.read_bytes())

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The content, or ``None`` if the store does not have it."""

    def get_into(self, key: str, file: IO[bytes]) -> bool:
        """Write the content to ``file``; ``False`` if the store does not have it."""
        data = self.get(key)
        if data is None:
            return False
        file.write(data)
        return True


class MemoryStore(BlobStore):
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.puts = 0
        """How many times a blob was written (tests check what was uploaded)."""

    def has(self, key: str) -> bool:
        return key in self.blobs

    def put(self, key: str, data: bytes) -> None:
        self.puts += 1
        self.blobs[key] = bytes(data)

    def get(self, key: str) -> bytes | None:
        return self.blobs.get(key)

    def __repr__(self) -> str:
        return f"MemoryStore({len(self.blobs)} blobs)"


class HttpStore(BlobStore):
    """A server's ``/blobs/<key>``: ``PUT`` (checked against the key), ``GET``, ``HEAD``."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": f"coflux/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(headers=headers, timeout=timeout)

    def _blob_url(self, key: str) -> str:
        return f"{self.url}/blobs/{key}"

    def _call(self, method: str, key: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, self._blob_url(key), **kwargs)
        except httpx.HTTPError as exc:
            raise BlobError(f"blob store {self.url}: {exc or type(exc).__name__}") from None

    def _check(self, response: httpx.Response, key: str) -> None:
        if response.is_error:
            raise BlobError(
                f"blob store {self.url} answered {response.status_code} for {key}: "
                f"{response.text[:200]}"
            )

    def has(self, key: str) -> bool:
        response = self._call("HEAD", key)
        if response.status_code == 404:
            return False
        self._check(response, key)
        return True

    def put(self, key: str, data: bytes) -> None:
        response = self._call(
            "PUT", key, content=data, headers={"Content-Type": "application/octet-stream"}
        )
        self._check(response, key)

    def put_file(self, key: str, path: Path) -> None:
        with open(path, "rb") as file:
            response = self._call(
                "PUT",
                key,
                content=_chunks(file),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(os.fstat(file.fileno()).st_size),
                },
            )
        self._check(response, key)

    def get(self, key: str) -> bytes | None:
        response = self._call("GET", key)
        if response.status_code == 404:
            return None
        self._check(response, key)
        return response.content

    def get_into(self, key: str, file: IO[bytes]) -> bool:
        try:
            with self._http.stream("GET", self._blob_url(key)) as response:
                if response.status_code == 404:
                    return False
                if response.is_error:
                    response.read()
                    self._check(response, key)
                for chunk in response.iter_bytes(CHUNK):
                    file.write(chunk)
        except httpx.HTTPError as exc:
            raise BlobError(f"blob store {self.url}: {exc or type(exc).__name__}") from None
        return True

    def __repr__(self) -> str:
        return f"HttpStore({self.url!r})"


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    while chunk := file.read(CHUNK):
        yield chunk


class S3Store(BlobStore):
    """A bucket, with blobs under ``prefix/``; credentials as boto3 finds them (``AWS_*``)."""

    def __init__(self, bucket: str, *, prefix: str = "", region: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.region = region
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise BlobError('an s3 blob store needs boto3: pip install "coflux[s3]"') from None
            self._client = boto3.client("s3", region_name=self.region)
        return self._client

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _missing(self, exc: Exception) -> bool:
        error = getattr(exc, "response", {}).get("Error", {})
        return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound")

    def has(self, key: str) -> bool:
        try:
            self._s3().head_object(Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            if self._missing(exc):
                return False
            raise BlobError(f"s3 store {self.bucket}: {exc}") from None
        return True

    def put(self, key: str, data: bytes) -> None:
        try:
            self._s3().put_object(Bucket=self.bucket, Key=self._name(key), Body=data)
        except BlobError:
            raise
        except Exception as exc:
            raise BlobError(f"s3 store {self.bucket}: {exc}") from None

    def put_file(self, key: str, path: Path) -> None:
        try:
            self._s3().upload_file(str(path), self.bucket, self._name(key))
        except BlobError:
            raise
        except Exception as exc:
            raise BlobError(f"s3 store {self.bucket}: {exc}") from None

    def get(self, key: str) -> bytes | None:
        try:
            response = self._s3().get_object(Bucket=self.bucket, Key=self._name(key))
            return response["Body"].read()
        except BlobError:
            raise
        except Exception as exc:
            if self._missing(exc):
                return None
            raise BlobError(f"s3 store {self.bucket}: {exc}") from None

    def get_into(self, key: str, file: IO[bytes]) -> bool:
        try:
            response = self._s3().get_object(Bucket=self.bucket, Key=self._name(key))
            for chunk in response["Body"].iter_chunks(CHUNK):
                file.write(chunk)
        except BlobError:
            raise
        except Exception as exc:
            if self._missing(exc):
                return False
            raise BlobError(f"s3 store {self.bucket}: {exc}") from None
        return True

    def __repr__(self) -> str:
        return f"S3Store({self.bucket!r}, prefix={self.prefix!r})"


def make_store(settings: BlobStoreConfig, config: Config) -> BlobStore:
    if settings.type == "s3":
        assert settings.bucket is not None
        return S3Store(settings.bucket, prefix=settings.prefix, region=settings.region)
    if settings.url is None:
        return HttpStore(config.server_url, token=settings.token or config.token)
    return HttpStore(settings.url, token=settings.token)


# --- the stores together, with a cache ------------------------------------------------------


class Blobs:
    """Stores in order (the first is written) and an optional cache directory."""

    def __init__(
        self,
        stores: list[BlobStore],
        *,
        threshold: int = 200,
        cache: Path | str | None = None,
        cache_size: int = 0,
    ) -> None:
        if not stores:
            raise ValueError("at least one blob store is needed")
        self.stores = stores
        self.threshold = threshold
        self.cache = BlobCache(cache, cache_size) if cache is not None else None
        self._written: set[str] = set()
        """Keys known to be in the first store; they are not written again."""
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config, *, cache: bool = True) -> Blobs:
        stores = [make_store(store, config) for store in config.blobs.stores]
        if not stores:
            stores = [HttpStore(config.server_url, token=config.token)]
        directory = (config.blobs.cache or default_directory()) if cache else None
        if directory is not None:
            directory = os.path.expanduser(directory)
        return cls(
            stores,
            threshold=config.blobs.threshold,
            cache=directory,
            cache_size=config.blobs.cache_size,
        )

    # --- writing -------------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        """Store ``data`` (unless the first store has it already); its key."""
        data = bytes(data)
        key = key_of(data)
        if key in self._written:
            return key
        store = self.stores[0]
        if len(data) <= SMALL or not store.has(key):
            store.put(key, data)
        with self._lock:
            self._written.add(key)
        return key

    def put_file(self, path: Path | str) -> tuple[str, int]:
        """Store a file's content, streamed; its key and size."""
        path = Path(path)
        key, size = hash_file(path)
        if key in self._written:
            return key, size
        store = self.stores[0]
        if size <= SMALL or not store.has(key):
            store.put_file(key, path)
        # The file may have changed meanwhile: what was stored is checked by the server's
        # http store, and a changed file is caught here for others.
        if hash_file(path)[0] != key:
            raise BlobError(f"{path} changed while it was being stored")
        with self._lock:
            self._written.add(key)
        return key, size

    # --- reading -------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """The blob's content, from the cache or the first store that has it."""
        check_key(key)
        cached = self.cache.path(key) if self.cache is not None else None
        if cached is not None:
            with contextlib.suppress(OSError):
                data = cached.read_bytes()
                if key_of(data) == key:
                    return data
                self.cache.forget(key)
        for store in self.stores:
            data = store.get(key)
            if data is None:
                continue
            if key_of(data) != key:
                continue  # a damaged copy: another store may have a good one
            if self.cache is not None:
                self.cache.keep(key, data)
            return data
        raise BlobNotFound(f"blob {key} is in none of the stores ({self._names()})")

    def fetch(self, key: str, destination: Path | str) -> Path:
        """Write the blob to ``destination`` (replacing a file there), streamed; the path."""
        check_key(key)
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        cached = self.cache.path(key) if self.cache is not None else None
        if cached is not None:
            with contextlib.suppress(OSError):
                with _beside(destination) as (file, commit), open(cached, "rb") as source:
                    shutil.copyfileobj(source, file, CHUNK)
                    file.seek(0)
                    if _hash_open(file) == key:
                        commit()
                        return destination
                self.cache.forget(key)
        for store in self.stores:
            with _beside(destination) as (file, commit):
                if not store.get_into(key, file):
                    continue
                file.seek(0)
                if _hash_open(file) != key:
                    continue  # a damaged copy: another store may have a good one
                commit()
            if self.cache is not None:
                self.cache.keep_file(key, destination)
            return destination
        raise BlobNotFound(f"blob {key} is in none of the stores ({self._names()})")

    def _names(self) -> str:
        return ", ".join(repr(store) for store in self.stores)


def _hash_open(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := file.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _beside(path: Path) -> Iterator[tuple[IO[bytes], Callable[[], None]]]:
    """A temporary file next to ``path``, and a function to call once its content is good:
    the file then replaces ``path`` when the block ends; otherwise it is removed."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=".coflux-")
    committed = False

    def commit() -> None:
        nonlocal committed
        committed = True

    try:
        with os.fdopen(descriptor, "w+b") as file:
            yield file, commit
        if committed:
            os.replace(name, path)
    finally:
        if not committed:
            with contextlib.suppress(OSError):
                os.unlink(name)


# --- the process's blobs ---------------------------------------------------------------------

_settings: Config | None = None
_current: tuple[int, Blobs] | None = None
_current_lock = threading.Lock()


def configure(config: Config | None) -> None:
    """Use these settings for this process's blobs (and assets); ``None``: the environment's."""
    global _settings, _current
    with _current_lock:
        _settings = config
        _current = None


def use(blobs: Blobs | None) -> None:
    """Use this ``Blobs`` in this process (tests); ``None`` goes back to the settings."""
    global _current
    with _current_lock:
        _current = (os.getpid(), blobs) if blobs is not None else None


def settings() -> Config:
    """The settings blobs and assets use: given to ``configure``, else from the environment."""
    global _settings
    with _current_lock:
        if _settings is None:
            _settings = load_config()
        return _settings


def threshold() -> int:
    """The blob threshold of this process's values (without making its ``Blobs``)."""
    # Read on every value encoded: no lock for what is set already.
    found = _current
    if found is not None and found[0] == os.getpid():
        return found[1].threshold
    config = _settings
    return (config if config is not None else settings()).blobs.threshold


def current() -> Blobs:
    """This process's ``Blobs``, made on first use (again in a forked child)."""
    global _current
    config = settings()
    with _current_lock:
        # A client made before a fork must not be shared with the child's.
        if _current is None or _current[0] != os.getpid():
            _current = (os.getpid(), Blobs.from_config(config))
        return _current[1]
