"""Studio's routes, mounted at the root (``coflux_server.urls``).

Workspace names may contain ``/``: ``<path:workspace>`` takes all of them, and each page's path
ends in something a name cannot be confused with (the overview's trailing ``/``, a fixed word
before a module or a target, which contain no ``/``).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from runs.studio import (
    run_page,
    views_inputs,
    views_module,
    views_pools,
    views_workers,
    views_workflow,
    views_workspace,
)

app_name = "studio"

WORKSPACE = "w/<path:workspace>"

urlpatterns = [
    path("", views_workspace.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="studio/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspaces/new", views_workspace.create, name="create_workspace"),
    path(f"{WORKSPACE}/", views_workspace.overview, name="overview"),
    path(f"{WORKSPACE}/goto", views_workspace.goto, name="goto"),
    path(f"{WORKSPACE}/pause", views_workspace.pause, name="pause"),
    path(f"{WORKSPACE}/resume", views_workspace.resume, name="resume"),
    path(f"{WORKSPACE}/archive", views_workspace.archive, name="archive"),
    path(
        f"{WORKSPACE}/workflows/<str:module>/<str:target>",
        views_workflow.workflow,
        name="workflow",
    ),
    path(f"{WORKSPACE}/modules/<str:module>", views_module.module, name="module"),
    path(f"{WORKSPACE}/workers", views_workers.workers, name="workers"),
    path(f"{WORKSPACE}/queue", views_workers.queue, name="queue"),
    path(f"{WORKSPACE}/queue/cancel", views_workers.cancel, name="cancel_queued"),
    path(f"{WORKSPACE}/inputs", views_inputs.inputs, name="inputs"),
    path(f"{WORKSPACE}/pools", views_pools.pools, name="pools"),
    path(f"{WORKSPACE}/pools/<str:pool>/state", views_pools.set_state, name="pool_state"),
    path("inputs/<str:run_id>/<str:number>/respond", views_inputs.respond, name="respond_input"),
    path("inputs/<str:run_id>/<str:number>/dismiss", views_inputs.dismiss, name="dismiss_input"),
    path("runs/<str:run_id>", run_page.run_page, name="run"),
    path(
        "runs/<str:run_id>/groups/<str:execution>/<int:group>",
        run_page.group_members,
        name="run_group",
    ),
    path("runs/<str:run_id>/cancel", run_page.cancel_run, name="cancel_run"),
    path("runs/<str:run_id>/steps/<int:step>/rerun", run_page.rerun, name="rerun_step"),
    path(
        "runs/<str:run_id>/steps/<int:step>/attempts/<int:attempt>/cancel",
        run_page.cancel_attempt,
        name="cancel_attempt",
    ),
    path("runs/<str:run_id>/logs.<str:form>", run_page.logs_download, name="run_logs"),
    path("studio/values", run_page.render_value, name="render_value"),
]
