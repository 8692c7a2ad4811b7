"""Assets: named sets of files, persisted by one execution and restored by others (SPEC §2.3).

An asset's entries map relative paths (``reports/2024.csv``) to blobs, with a size and
metadata (``{"type": MIME type}``). ``cf.asset(...)`` uploads the files it selects to the blob
store, skipping entries of other assets (they are in the store already), and records the asset
on the server; the ``Asset`` it returns travels in values as a reference and can be restored
anywhere::

    @cf.task()
    def render() -> cf.Asset:
        Path("out/chart.png").parent.mkdir()
        ...
        return cf.asset("out", name="charts")     # every file under out/

    @cf.task()
    def publish(charts: cf.Asset) -> None:
        charts.restore(match="*.png", at="site")  # {"out/chart.png": Path("site/out/chart.png")}

Paths are relative to ``at=`` or the execution's working directory (a fresh temporary directory
per execution). ``match=`` is an ``fnmatch`` pattern on entry paths, where ``*`` also matches
``/``, ``**/`` may match no directory at all and ``{a,b}`` is either.
"""

from __future__ import annotations

import fnmatch
import mimetypes
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Union

from ._blobs import Blobs, settings
from ._blobs import current as process_blobs
from ._client import Client
from ._current import current

PathLike = str | os.PathLike[str]
Source = Union[Path, "AssetEntry"]
"""What an entry is made from: a file to upload, or an existing entry to reuse."""


@dataclass(frozen=True)
class AssetMetadata:
    name: str | None
    total_count: int
    total_size: int


@dataclass(frozen=True)
class AssetEntry:
    """One file of an asset: its path in the asset, its blob, size and metadata."""

    path: str
    blob_key: str
    size: int
    metadata: dict[str, Any] = field(default_factory=dict, hash=False)

    def restore(self, *, at: PathLike | None = None, to: PathLike | None = None) -> Path:
        """Write the file to ``at`` (default: the working directory) joined with its path."""
        target = _inside(_base(at, to), self.path)
        process_blobs().fetch(self.blob_key, target)
        return target


class Asset:
    """A handle on an asset; its entries are fetched from the server when first needed."""

    __slots__ = ("_entries", "_id", "_metadata")

    def __init__(
        self, id: str, metadata: AssetMetadata, entries: Iterable[AssetEntry] | None = None
    ) -> None:
        self._id = id
        self._metadata = metadata
        self._entries: dict[str, AssetEntry] | None = (
            None if entries is None else {entry.path: entry for entry in entries}
        )

    @classmethod
    def reference(cls, id: str, name: str | None, count: int, size: int) -> Asset:
        return cls(id, AssetMetadata(name, count, size))

    @property
    def id(self) -> str:
        return self._id

    @property
    def metadata(self) -> AssetMetadata:
        return self._metadata

    @property
    def entries(self) -> list[AssetEntry]:
        """The entries, by path."""
        return list(self._by_path().values())

    def _by_path(self) -> dict[str, AssetEntry]:
        if self._entries is None:
            found = _client().asset(self._id)
            self._entries = {
                entry["path"]: AssetEntry(
                    entry["path"], entry["blobKey"], entry["size"], entry["metadata"]
                )
                for entry in found["entries"]
            }
        return self._entries

    def __getitem__(self, path: str) -> AssetEntry:
        return self._by_path()[path]

    def __contains__(self, path: object) -> bool:
        return path in self._by_path()

    def restore(
        self,
        *,
        match: str | None = None,
        at: PathLike | None = None,
        to: PathLike | None = None,
    ) -> dict[str, Path]:
        """Write the entries (those whose path matches ``match``) under ``at`` (default: the
        working directory); ``{entry path: file written}``."""
        base = _base(at, to)
        entries = [entry for entry in self.entries if match is None or matches(entry.path, match)]
        blobs = process_blobs()
        restored = {}
        for entry in entries:
            target = _inside(base, entry.path)
            blobs.fetch(entry.blob_key, target)
            restored[entry.path] = target
        return restored

    def _reference(self) -> dict[str, Any]:
        return {
            "type": "asset",
            "id": self._id,
            "name": self._metadata.name,
            "count": self._metadata.total_count,
            "size": self._metadata.total_size,
        }

    def __reduce__(self) -> Any:
        metadata = self._metadata
        return (
            _asset_reference,
            (self._id, metadata.name, metadata.total_count, metadata.total_size),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and other._id == self._id

    def __hash__(self) -> int:
        return hash(("asset", self._id))

    def __repr__(self) -> str:
        name = f", name={self._metadata.name!r}" if self._metadata.name else ""
        return f"Asset({self._id!r}{name}, count={self._metadata.total_count})"


def _asset_reference(id: str, name: str | None, count: int, size: int) -> Asset:
    # A function, not the classmethod: some libraries (Twisted) change how bound methods pickle.
    return Asset.reference(id, name, count, size)


def asset(
    entries: Any = None,
    *,
    at: PathLike | None = None,
    match: str | None = None,
    name: str | None = None,
) -> Asset:
    """Persist files as an asset of the running execution.

    ``entries``: ``None`` (every file under ``at`` or the working directory), a path (a file,
    or a directory's files), an ``Asset`` or ``AssetEntry`` (reused without uploading), a list
    of those, or a dict ``{path in the asset: path | Asset | AssetEntry}`` (an asset under
    ``k`` puts its entries under ``k/``). ``match`` keeps the entries whose path matches.
    Raises ``ValueError`` if nothing is selected.
    """
    context = current()
    if context is None:
        raise RuntimeError("Not in an execution context")
    sources = collect(entries, at=at, match=match)
    return create(sources, name=name, execution=context.execution_id)


# --- selecting -------------------------------------------------------------------------------


def collect(entries: Any, *, at: PathLike | None = None, match: str | None = None) -> dict:
    """``{entry path: Source}`` for ``asset``'s arguments (see there)."""
    if isinstance(entries, Mapping) and at is not None:
        raise ValueError("at= cannot be combined with a dict of entries: its keys are the paths")
    base = Path(os.path.abspath(at if at is not None else os.getcwd()))
    sources: dict[str, Source] = {}
    if entries is None:
        _add_all(sources, _files_under(base, base))
    elif isinstance(entries, Mapping):
        for key, item in entries.items():
            prefix = entry_path(os.fspath(key))
            _add_all(sources, _named(prefix, item, base))
    elif isinstance(entries, list | tuple):
        for item in entries:
            _add_all(sources, _unnamed(item, base))
    else:
        _add_all(sources, _unnamed(entries, base))
    if match is not None:
        sources = {path: source for path, source in sources.items() if matches(path, match)}
    if not sources:
        raise ValueError("nothing selected for the asset")
    return sources


def _add_all(sources: dict[str, Source], items: Iterable[tuple[str, Source]]) -> None:
    for path, source in items:
        if path in sources and sources[path] != source:
            raise ValueError(f"two different entries for the path {path!r}")
        sources[path] = source


def _unnamed(item: Any, base: Path) -> Iterator[tuple[str, Source]]:
    if isinstance(item, Asset):
        for entry in item.entries:
            yield entry.path, entry
    elif isinstance(item, AssetEntry):
        yield item.path, item
    elif isinstance(item, str | os.PathLike):
        path = _absolute(item, base)
        if path.is_dir():
            # Relative to the base if inside it, else the directory keeps its own name.
            root = base if path.is_relative_to(base) else path.parent
            yield from _files_under(path, root)
        elif path.is_file():
            relative = path.relative_to(base) if path.is_relative_to(base) else Path(path.name)
            yield entry_path(relative.as_posix()), path
        else:
            raise FileNotFoundError(f"no such file: {path}")
    else:
        raise TypeError(
            f"cannot make asset entries of a {type(item).__name__}: "
            "use paths, assets, asset entries, lists or dicts of them"
        )


def _named(prefix: str, item: Any, base: Path) -> Iterator[tuple[str, Source]]:
    if isinstance(item, Asset):
        for entry in item.entries:
            yield f"{prefix}/{entry.path}", entry
    elif isinstance(item, AssetEntry):
        yield prefix, item
    elif isinstance(item, str | os.PathLike):
        path = _absolute(item, base)
        if path.is_dir():
            for relative, file in _files_under(path, path):
                yield f"{prefix}/{relative}", file
        elif path.is_file():
            yield prefix, path
        else:
            raise FileNotFoundError(f"no such file: {path}")
    else:
        raise TypeError(
            f"cannot make an asset entry of a {type(item).__name__}: "
            "use a path, an asset or an asset entry"
        )


def _absolute(path: PathLike, base: Path) -> Path:
    return Path(os.path.abspath(base / os.fspath(path)))


def _files_under(directory: Path, root: Path) -> Iterator[tuple[str, Path]]:
    """The files under ``directory`` (recursively, in order), with paths relative to ``root``."""
    for folder, directories, files in os.walk(directory):
        directories.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file():
                yield entry_path(path.relative_to(root).as_posix()), path


def entry_path(path: str) -> str:
    """``path`` as an entry path: relative, ``/``-separated, without ``.`` or ``..`` parts."""
    pure = PurePosixPath(path.replace("\\", "/"))
    parts = [part for part in pure.parts if part != "."]
    if pure.is_absolute() or not parts or ".." in parts:
        raise ValueError(f"not a relative path inside the asset: {path!r}")
    return "/".join(parts)


_BRACES = re.compile(r"\{([^{}]*)\}")


def matches(path: str, pattern: str) -> bool:
    """Whether an entry path matches an ``fnmatch`` pattern, with ``{a,b}`` and ``**/``."""
    return any(fnmatch.fnmatchcase(path, variant) for variant in _variants(pattern))


def _variants(pattern: str) -> Iterator[str]:
    found = _BRACES.search(pattern)
    if found is not None:
        for choice in found.group(1).split(","):
            yield from _variants(pattern[: found.start()] + choice + pattern[found.end() :])
        return
    yield pattern
    if "**/" in pattern:
        # ``**/`` also stands for no directory at all: ``**/*.csv`` matches ``a.csv``.
        yield pattern.replace("**/", "")


# --- storing and restoring -------------------------------------------------------------------


def create(
    sources: Mapping[str, Source],
    *,
    name: str | None = None,
    execution: str | None = None,
    blobs: Blobs | None = None,
    client: Client | None = None,
) -> Asset:
    """Upload the files of ``sources`` (entries of other assets are reused as they are) and
    record the asset on the server."""
    blobs = blobs if blobs is not None else process_blobs()
    entries: dict[str, dict[str, Any]] = {}
    for path, source in sources.items():
        if isinstance(source, AssetEntry):
            key, size, metadata = source.blob_key, source.size, source.metadata
        else:
            key, size = blobs.put_file(source)
            metadata = {"type": mimetypes.guess_type(path)[0] or "application/octet-stream"}
        entries[path] = {"blobKey": key, "size": size, "metadata": metadata}
    created = (client if client is not None else _client()).create_asset(
        entries, name=name, execution=execution
    )
    return Asset(
        created["id"],
        AssetMetadata(created["name"], created["count"], created["size"]),
        [
            AssetEntry(path, entry["blobKey"], entry["size"], entry["metadata"])
            for path, entry in entries.items()
        ],
    )


def _base(at: PathLike | None, to: PathLike | None) -> Path:
    if at is not None and to is not None:
        raise ValueError("give at= or to=, not both")
    chosen = at if at is not None else to
    return Path(os.path.abspath(chosen if chosen is not None else os.getcwd()))


def _inside(base: Path, path: str) -> Path:
    """Where the entry ``path`` goes under ``base``; never outside it."""
    return base.joinpath(*entry_path(path).split("/"))


_client_cache: tuple[int, Any, Client] | None = None
_client_lock = threading.Lock()


def _client() -> Client:
    """A client of the server's API for this process, made again in a forked child or when
    the settings change (``coflux._blobs.configure``)."""
    global _client_cache
    config = settings()
    with _client_lock:
        if (
            _client_cache is None
            or _client_cache[0] != os.getpid()
            or _client_cache[1] is not config
        ):
            client = Client(config.host, config.project, secure=config.secure, token=config.token)
            _client_cache = (os.getpid(), config, client)
        return _client_cache[2]
