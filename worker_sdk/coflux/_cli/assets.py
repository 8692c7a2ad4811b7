"""``coflux assets inspect|download``: the entries of an asset, and its files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import _blobs
from .._assets import Asset, AssetEntry, AssetMetadata, matches
from .._blobs import BlobError, Blobs
from .options import connect, echo_json, get_config, global_options


def _fetch(ctx: click.Context, asset_id: str) -> dict[str, Any]:
    with connect(get_config(ctx)) as client:
        return client.asset(asset_id)


def _entries(found: dict[str, Any], match: str | None) -> list[dict[str, Any]]:
    return [e for e in found["entries"] if match is None or matches(e["path"], match)]


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@click.group()
@global_options
def assets() -> None:
    """Inspect and download assets."""


@assets.command()
@global_options
@click.argument("asset_id")
@click.option("--match", metavar="PATTERN", help="Only entries whose path matches, e.g. '*.csv'.")
@click.pass_context
def inspect(ctx: click.Context, asset_id: str, match: str | None) -> None:
    """Show the entries of asset ASSET_ID: path, size, type and blob key."""
    found = _fetch(ctx, asset_id)
    entries = _entries(found, match)
    if get_config(ctx).output == "json":
        echo_json(
            {
                "id": found["id"],
                "name": found["name"],
                "executionId": found["executionId"],
                "entries": {
                    entry["path"]: {
                        "blobKey": entry["blobKey"],
                        "size": entry["size"],
                        "metadata": entry["metadata"],
                    }
                    for entry in entries
                },
            }
        )
        return
    title = f"Asset {found['id']}"
    if found["name"]:
        title += f" {found['name']!r}"
    click.echo(f"{title}: {found['count']} files, {_size(found['size'])}")
    if found["executionId"]:
        click.echo(f"persisted by {found['executionId']}")
    width = max((len(entry["path"]) for entry in entries), default=0)
    for entry in entries:
        kind = entry["metadata"].get("type", "")
        click.echo(
            f"  {entry['path']:<{width}}  {_size(entry['size']):>10}  {kind:<24}  "
            f"{entry['blobKey']}"
        )


@assets.command()
@global_options
@click.argument("asset_id")
@click.option(
    "--to",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory to write the files under (at their paths in the asset).",
)
@click.option("--match", metavar="PATTERN", help="Only entries whose path matches, e.g. '*.csv'.")
@click.option("--force", is_flag=True, help="Replace files that exist already.")
@click.pass_context
def download(
    ctx: click.Context, asset_id: str, directory: Path, match: str | None, force: bool
) -> None:
    """Write the files of asset ASSET_ID under a directory."""
    config = get_config(ctx)
    found = _fetch(ctx, asset_id)
    entries = [
        AssetEntry(e["path"], e["blobKey"], e["size"], e["metadata"])
        for e in _entries(found, match)
    ]
    if not entries:
        raise click.ClickException(f"no entries of {asset_id} match {match!r}")
    asset = Asset(found["id"], AssetMetadata(found["name"], found["count"], found["size"]), entries)
    base = directory.resolve()
    existing = [e.path for e in entries if base.joinpath(*e.path.split("/")).exists()]
    if existing and not force:
        raise click.ClickException(
            f"{len(existing)} files exist already (e.g. {existing[0]}); use --force to replace them"
        )
    _blobs.use(Blobs.from_config(config, cache=False))
    try:
        written = asset.restore(at=base)
    except BlobError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        _blobs.use(None)
    if config.output == "json":
        echo_json({"id": found["id"], "files": {path: str(file) for path, file in written.items()}})
        return
    for file in written.values():
        click.echo(str(file))
