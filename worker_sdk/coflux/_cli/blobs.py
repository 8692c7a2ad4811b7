"""``coflux blobs get``: a blob's content, from the configured blob stores."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from .._blobs import BlobError, Blobs, is_key
from .options import connection_options, get_config, global_options


@click.group()
@global_options
def blobs() -> None:
    """Read blobs: values, fragments and asset files, by key."""


@blobs.command()
@connection_options
@click.argument("key")
@click.option(
    "-o",
    "--output-file",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write it to this file [default: standard output].",
)
@click.pass_context
def get(ctx: click.Context, key: str, output_file: Path | None) -> None:
    """Write the content of blob KEY (64 hex digits), checked against the key."""
    if not is_key(key):
        raise click.BadParameter("a blob key is 64 lowercase hexadecimal digits", param_hint="KEY")
    store = Blobs.from_config(get_config(ctx), cache=False)
    try:
        if output_file is not None:
            store.fetch(key, output_file)
            return
        with tempfile.TemporaryDirectory(prefix="coflux-blob-") as directory:
            path = store.fetch(key, Path(directory) / key)
            with open(path, "rb") as source:
                shutil.copyfileobj(source, click.get_binary_stream("stdout"))
    except BlobError as exc:
        raise click.ClickException(str(exc)) from None
