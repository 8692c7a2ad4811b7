"""Links into the run page, which every page of Studio makes (runs lists, queues, "Go to…")."""

from __future__ import annotations

from urllib.parse import urlencode


def run_url(run_id: str, step: int | str | None = None, attempt: int | str | None = None) -> str:
    """The run page of ``run_id``, with a step (and one of its attempts) selected."""
    query = {key: value for key, value in (("step", step), ("attempt", attempt)) if value}
    return f"/runs/{run_id}" + (f"?{urlencode(query)}" if query else "")


def execution_url(execution_id: str) -> str:
    """The run page with the execution ``<run>:<step>:<attempt>`` selected."""
    parts = execution_id.split(":")
    if len(parts) != 3:
        return run_url(parts[0])
    return run_url(parts[0], parts[1], parts[2])


def asset_url(asset_id: str) -> str:
    """The asset's page (assets are a higher app, linked by path, never imported)."""
    return f"/assets/{asset_id}"


def blob_url(key: str) -> str:
    """The blob's content in the server's blob store."""
    return f"/blobs/{key}"


def render_value_url() -> str:
    """Where a value fetched from the blob store is posted to be drawn by the value renderer."""
    return "/studio/values"
