from django.contrib import admin
from django.urls import include, path, re_path

from assets import studio as assets_studio
from assets import views as assets_views

handler500 = "coflux_server.api_views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("coflux_server.api_urls")),
    # Any text after blobs/ reaches the view, which answers invalid keys itself (400/404).
    re_path(r"^blobs/(?P<key>[\s\S]*)$", assets_views.blob),
    path("assets/<str:asset_id>", assets_studio.asset, name="asset"),
    path("assets/<str:asset_id>/download", assets_studio.asset_zip, name="asset_zip"),
    path("assets/<str:asset_id>/files/<path:path>", assets_studio.asset_file, name="asset_file"),
    path("", include("runs.studio.urls")),
]
