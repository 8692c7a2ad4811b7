"""The REST API used by the CLI, CI and scripts; mounted under ``/api/``."""

from __future__ import annotations

from django.urls import path, re_path

from coflux_server import api_views
from runs import api as runs_api
from workspaces import api as workspaces_api

urlpatterns = [
    path("discover", api_views.discover),
    path(
        "projects/<slug:project>/workspaces/<path:workspace>/manifests",
        workspaces_api.manifests,
    ),
    path("projects/<slug:project>/workspaces/<path:workspace>/runs", runs_api.workspace_runs),
    path("projects/<slug:project>/runs/<str:run_id>", runs_api.run_detail),
    path("projects/<slug:project>/runs/<str:run_id>/result", runs_api.run_result),
    path("projects/<slug:project>/runs/<str:run_id>/logs", runs_api.run_log),
    re_path(r"^(?P<path>.*)$", api_views.not_found),
]
