"""What the asset page shows: an asset's entries as a directory tree, and a preview of one entry
(image, text, Markdown, CSV head or JSON) read from the blob store without trusting it.

A preview is inert: text is escaped by the template, Markdown is sanitised, images are drawn by
an ``<img>`` (where even SVG runs no script), and files are served back only with content types
that browsers do not execute, under a sandboxing Content-Security-Policy (``assets.studio``).
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from assets.blobs import blob_path
from assets.models import Asset, AssetEntry
from runs.studio.markdown import render_markdown

TEXT_LIMIT = 256 * 1024
"""How much of a text file a preview reads."""
CSV_ROWS = 50
IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/svg+xml"}
)
TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/markdown", "application/json"})


@dataclass
class TreeNode:
    name: str
    path: str
    """The entry's path for a file; the directory's path (with no trailing slash) otherwise."""
    entry: AssetEntry | None = None
    children: list[TreeNode] = field(default_factory=list)

    @property
    def is_dir(self) -> bool:
        return self.entry is None


def entry_tree(entries: list[AssetEntry]) -> list[TreeNode]:
    """The entries as a tree of directories (first) and files, each level by name."""
    root = TreeNode("", "")
    directories: dict[str, TreeNode] = {"": root}
    for entry in entries:
        parts = entry.path.split("/")
        parent = root
        for depth in range(1, len(parts)):
            key = "/".join(parts[:depth])
            if key not in directories:
                directories[key] = TreeNode(parts[depth - 1], key)
                parent.children.append(directories[key])
            parent = directories[key]
        parent.children.append(TreeNode(parts[-1], entry.path, entry))
    _sort(root)
    return root.children


def _sort(node: TreeNode) -> None:
    node.children.sort(key=lambda child: (not child.is_dir, child.name))
    for child in node.children:
        _sort(child)


def content_type(entry: AssetEntry) -> str:
    """The entry's type: its metadata's, else guessed from its name."""
    declared = (entry.metadata or {}).get("type")
    if isinstance(declared, str) and declared:
        return declared.split(";", 1)[0].strip().lower()
    suffix = PurePosixPath(entry.path).suffix.lower()
    if suffix in (".md", ".markdown"):
        return "text/markdown"
    guessed, _ = mimetypes.guess_type(entry.path, strict=False)
    return guessed or "application/octet-stream"


def served_type(entry: AssetEntry) -> str:
    """The Content-Type an entry is served with: images as themselves, text as plain text
    (never HTML), anything else as bytes to download."""
    kind = content_type(entry)
    if kind in IMAGE_TYPES:
        return kind
    if kind.startswith("text/") or kind in TEXT_TYPES:
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


@dataclass
class Preview:
    kind: str
    """``image``, ``markdown``, ``csv``, ``json``, ``text``, ``missing`` or ``none``."""
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    truncated: bool = False
    html: Any = None


def _head(entry: AssetEntry) -> tuple[bytes, bool] | None:
    path = blob_path(entry.blob_key)
    if path is None or not path.is_file():
        return None
    with open(path, "rb") as file:
        data = file.read(TEXT_LIMIT + 1)
    return data[:TEXT_LIMIT], len(data) > TEXT_LIMIT


def preview(entry: AssetEntry) -> Preview:
    """A preview of ``entry`` by its type, from at most ``TEXT_LIMIT`` bytes of it."""
    kind = content_type(entry)
    if kind in IMAGE_TYPES:
        return Preview("image")
    if not (kind.startswith("text/") or kind in TEXT_TYPES or kind.endswith("+json")):
        return Preview("none")
    head = _head(entry)
    if head is None:
        return Preview("missing")
    data, truncated = head
    text = data.decode("utf-8", errors="replace")
    if kind == "text/markdown":
        return Preview("markdown", text=text, truncated=truncated, html=render_markdown(text))
    if kind == "text/csv":
        rows = list(csv.reader(io.StringIO(text)))
        return Preview("csv", rows=rows[:CSV_ROWS], truncated=truncated or len(rows) > CSV_ROWS)
    if kind == "application/json" or kind.endswith("+json"):
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass  # cut off or not JSON after all: shown as it is
    return Preview("text", text=text, truncated=truncated)


def find_entry(asset: Asset, path: str) -> AssetEntry | None:
    """The asset's entry at ``path`` (entries are prefetched by ``Asset.objects.for_project``)."""
    return next((entry for entry in asset.entries.all() if entry.path == path), None)
