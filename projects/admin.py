from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from projects.models import OrchestratorLease, Project, WorkerSession


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows the orchestrator owns: shown, deletable, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WorkerSession)
class WorkerSessionAdmin(ViewOnlyAdmin):
    list_display = [
        "id",
        "project",
        "workspace",
        "connected",
        "draining",
        "concurrency",
        "last_seen_at",
        "expired_at",
    ]
    list_filter = ["connected", "draining", "project"]
    list_select_related = ["project", "workspace"]
    search_fields = ["id", "workspace__name"]
    date_hierarchy = "created_at"
    exclude = ["secret_hash"]


@admin.register(OrchestratorLease)
class OrchestratorLeaseAdmin(ViewOnlyAdmin):
    list_display = ["project", "holder", "expires_at"]
    list_select_related = ["project"]
    search_fields = ["project__name", "holder"]
