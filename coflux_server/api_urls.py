"""The REST API used by the CLI, CI and scripts; mounted under ``/api/``."""

from __future__ import annotations

from django.urls import path, re_path

from assets import api as assets_api
from coflux_server import api_docs, api_views
from projects import api as projects_api
from runs import api as runs_api
from runs import input_api
from workspaces import api as workspaces_api
from workspaces import pool_api

PROJECT = "projects/<slug:project>"
WORKSPACE = f"{PROJECT}/workspaces/<path:workspace>"

# A workspace's name may contain '/': the paths with an action after the name come before the
# bare one, which would match them too (see workspaces.api).
urlpatterns = [
    path("discover", api_views.discover),
    path("schema/", api_docs.schema),
    path("docs/", api_docs.docs),
    path(f"{PROJECT}/workspaces", workspaces_api.workspaces),
    path(f"{WORKSPACE}/manifests", workspaces_api.manifests),
    path(f"{WORKSPACE}/manifests/<str:module>/archive", workspaces_api.archive_manifest),
    path(f"{WORKSPACE}/runs", runs_api.workspace_runs),
    path(f"{WORKSPACE}/inputs", input_api.workspace_input_list),
    path(f"{WORKSPACE}/pools", pool_api.pools),
    path(f"{WORKSPACE}/pools/export", pool_api.export),
    path(f"{WORKSPACE}/pools/import", pool_api.import_),
    path(f"{WORKSPACE}/pools/<str:pool>", pool_api.pool_detail),
    path(f"{WORKSPACE}/pools/<str:pool>/enable", pool_api.enable),
    path(f"{WORKSPACE}/pools/<str:pool>/disable", pool_api.disable),
    path(f"{WORKSPACE}/pools/<str:pool>/launches", pool_api.launches),
    path(f"{WORKSPACE}/pause", workspaces_api.pause),
    path(f"{WORKSPACE}/resume", workspaces_api.resume),
    path(f"{WORKSPACE}/archive", workspaces_api.archive),
    path(f"{WORKSPACE}/sessions", runs_api.sessions),
    path(f"{WORKSPACE}/queue", runs_api.queue),
    path(WORKSPACE, workspaces_api.workspace_detail),
    path(f"{PROJECT}/executions/<str:execution_id>/cancel", runs_api.cancel),
    path(f"{PROJECT}/steps/<str:step_id>/rerun", runs_api.rerun),
    path(f"{PROJECT}/runs/<str:run_id>", runs_api.run_detail),
    path(f"{PROJECT}/inputs/<str:run_id>/<str:number>", input_api.input_detail),
    path(f"{PROJECT}/inputs/<str:run_id>/<str:number>/respond", input_api.respond),
    path(f"{PROJECT}/inputs/<str:run_id>/<str:number>/dismiss", input_api.dismiss),
    path(f"{PROJECT}/runs/<str:run_id>/result", runs_api.run_result),
    path(f"{PROJECT}/runs/<str:run_id>/logs", runs_api.run_log),
    path(f"{PROJECT}/runs/<str:run_id>/metrics", runs_api.run_metric_series),
    path(f"{PROJECT}/assets", assets_api.assets),
    path(f"{PROJECT}/assets/<str:asset_id>", assets_api.asset_detail),
    path(f"{PROJECT}/tokens", projects_api.tokens),
    path(f"{PROJECT}/tokens/<str:token_id>/revoke", projects_api.revoke),
    # Any text, a newline too (which '.' would not match).
    re_path(r"^(?P<path>[\s\S]*)$", api_views.not_found),
]
