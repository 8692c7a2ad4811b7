"""API views of assets: recording one (its files are in the blob store already) and reading it.

``POST /api/projects/<p>/assets`` takes ``{"name"?, "execution"?, "entries": {path:
{"blob_key", "size", "metadata"?}}}`` and answers 201 with the asset; ``GET
/api/projects/<p>/assets/<id>`` gives ``{"id", "name", "execution", "created_at", "count",
"size", "entries": [{"path", "blob_key", "size", "metadata"}]}``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from assets.blobs import is_key
from assets.models import Asset
from coflux_server.api_input import InvalidRequest, is_integer, json_object
from projects.access import project_by_name
from projects.errors import Code, DomainError
from projects.models import Project
from runs.models import Execution

MAX_ENTRIES = 10_000
MAX_PATH = 1024
MAX_NAME = 255


def check_entry_path(path: Any) -> str:
    """``path`` if it is a relative ``/``-separated path with no empty, ``.`` or ``..`` part:
    restoring it can only write inside the directory it is restored to."""
    if not isinstance(path, str) or not 0 < len(path) <= MAX_PATH:
        raise InvalidRequest(f"An entry path must be a string of 1 to {MAX_PATH} characters.")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in path or "\0" in path:
        raise InvalidRequest(
            f"Invalid entry path {path!r}: use a relative path with '/' between its parts, "
            "and no empty, '.' or '..' parts."
        )
    return path


def _check_entry(path: str, entry: Any) -> dict[str, Any]:
    where = f"entries[{path!r}]"
    body = json_object(entry, {"blob_key", "size", "metadata"}, {"blob_key", "size"})
    if not isinstance(body["blob_key"], str) or not is_key(body["blob_key"]):
        raise InvalidRequest(f"{where}.blob_key must be 64 lowercase hexadecimal digits.")
    if not is_integer(body["size"]) or body["size"] < 0:
        raise InvalidRequest(f"{where}.size must be a whole number of bytes.")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidRequest(f"{where}.metadata must be an object.")
    return {"blob_key": body["blob_key"], "size": body["size"], "metadata": metadata}


def check_asset(project: Project, data: Any) -> dict[str, Any]:
    """The asset a request body describes, checked: ``{"name", "execution", "entries"}``."""
    body = json_object(data, {"name", "execution", "entries"}, {"entries"})
    name = body.get("name") or ""
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise InvalidRequest(f"'name' must be a string of at most {MAX_NAME} characters.")
    entries = body["entries"]
    if not isinstance(entries, dict) or not 0 < len(entries) <= MAX_ENTRIES:
        raise InvalidRequest(f"'entries' must be an object with 1 to {MAX_ENTRIES} entries.")
    checked = {check_entry_path(path): _check_entry(path, entry) for path, entry in entries.items()}
    execution_id = body.get("execution")
    execution = None
    if execution_id is not None:
        if not isinstance(execution_id, str):
            raise InvalidRequest("'execution' must be an execution ID or null.")
        execution = Execution.objects.filter(pk=execution_id, step__run__project=project).first()
        if execution is None:
            raise DomainError(f"No execution {execution_id!r}.", code=Code.EXECUTION_NOT_FOUND)
    return {"name": name, "execution": execution, "entries": checked}


@api_view(["POST"])
def assets(request: Request, project: str) -> Response:
    found = project_by_name(project)
    asset = Asset.objects.record(found, **check_asset(found, request.data))
    return Response(Asset.objects.for_project(found, asset.id).as_json(), status=201)


@api_view(["GET"])
def asset_detail(request: Request, project: str, asset_id: str) -> Response:
    asset = Asset.objects.for_project(project_by_name(project), asset_id)
    if asset is None:
        raise DomainError(f"No asset {asset_id!r}.", code=Code.ASSET_NOT_FOUND)
    return Response(asset.as_json())
