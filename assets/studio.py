"""Studio's asset page (``/assets/<id>``): the entries as a tree, a preview of one, downloads.

Files are served from the blob store under a Content-Security-Policy that sandboxes them (no
script, no same-origin rights, even when opened in a tab of their own) and with a type browsers
do not execute (``assets.previews.served_type``).
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import PurePosixPath

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from assets.blobs import blob_path
from assets.models import Asset
from assets.previews import entry_tree, find_entry, preview, served_type
from projects.permissions import Action
from runs.studio.context import chrome
from runs.studio.http import render_page, require, studio_project, studio_view
from workspaces.models import Workspace

FILE_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
"""For a file opened on its own: shown, never run, and cut off from the origin."""


def _asset_or_404(request: HttpRequest, asset_id: str) -> tuple[Asset, Workspace | None]:
    """The asset with its entries, and the workspace it was persisted in (if by a run)."""
    asset = Asset.objects.for_project(studio_project(), asset_id)
    if asset is None:
        raise Http404(f"No asset {asset_id!r}.")
    workspace = (
        Workspace.objects.filter(executions__pk=asset.execution_id).first()
        if asset.execution_id
        else None
    )
    require(request, Action.VIEW, workspace)
    return asset, workspace


@require_GET
@studio_view
def asset(request: HttpRequest, asset_id: str) -> HttpResponse:
    """The asset: its tree of entries, and the entry named by ``?path=`` (else the first file)
    previewed."""
    found, workspace = _asset_or_404(request, asset_id)
    entries = list(found.entries.all())
    path = request.GET.get("path")
    selected = find_entry(found, path) if path else (entries[0] if entries else None)
    if path and selected is None:
        raise Http404(f"Asset {asset_id} has no entry {path!r}.")
    context = {
        "asset": found,
        "tree": entry_tree(entries),
        "selected": selected,
        "preview": preview(selected) if selected is not None else None,
    }
    return render_page(
        request,
        "studio/asset.html",
        context,
        chrome=lambda: chrome(request, workspace),
        partial="studio/asset/_preview.html",
    )


@require_GET
@studio_view
def asset_file(request: HttpRequest, asset_id: str, path: str) -> HttpResponse:
    """One entry's content; ``?download`` asks for a file to save rather than to view."""
    found, _ = _asset_or_404(request, asset_id)
    entry = find_entry(found, path)
    file = blob_path(entry.blob_key) if entry is not None else None
    if entry is None or file is None or not file.is_file():
        raise Http404(f"Asset {asset_id} has no stored entry {path!r}.")
    kind = served_type(entry)
    response = FileResponse(
        open(file, "rb"),  # noqa: SIM115 - FileResponse closes it
        content_type=kind,
        as_attachment="download" in request.GET or kind == "application/octet-stream",
        filename=PurePosixPath(entry.path).name,
    )
    response["Content-Security-Policy"] = FILE_POLICY
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@studio_view
def asset_zip(request: HttpRequest, asset_id: str) -> HttpResponse:
    """Every entry in one zip file, written to a temporary file (on disk once it grows)."""
    found, _ = _asset_or_404(request, asset_id)
    archive = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for entry in found.entries.all():
            stored = blob_path(entry.blob_key)
            if stored is not None and stored.is_file():
                zipped.write(stored, arcname=entry.path)
    archive.seek(0)
    name = f"{found.name or found.id}.zip".replace("/", "_")
    response = FileResponse(
        archive, content_type="application/zip", as_attachment=True, filename=name
    )
    response["Content-Security-Policy"] = FILE_POLICY
    return response
