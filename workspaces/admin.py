from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from coflux_server.api_errors import ApiError
from workspaces.actions import archive_workspace
from workspaces.models import Module, Target, Workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "base", "state", "created_at"]
    list_filter = ["state", "project"]
    list_select_related = ["project", "base"]
    search_fields = ["name"]
    raw_id_fields = ["base"]
    readonly_fields = ["created_at"]
    actions = ["archive"]

    @admin.action(description="Archive selected workspaces")
    def archive(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        # Children first, so that archiving a workspace together with the workspaces based on
        # it is not refused for the children it still has.
        selected = sorted(
            queryset.exclude(state=Workspace.State.ARCHIVED).select_related("project"),
            key=lambda workspace: -len(workspace.ancestry()),
        )
        for workspace in selected:
            try:
                archived = archive_workspace(workspace)
            except ApiError as exc:
                self.message_user(request, f"{workspace.name}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"Archived workspace {workspace.name} (cancelled {len(archived['cancelled'])} "
                f"queued executions, ended {len(archived['sessions'])} worker sessions).",
                messages.SUCCESS,
            )


class TargetInline(admin.TabularInline):
    model = Target
    fields = ["name", "kind", "parameters", "instruction", "options"]
    extra = 0
    show_change_link = True


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "registered_at", "archived"]
    list_filter = ["archived", "workspace__project"]
    list_select_related = ["workspace"]
    search_fields = ["name", "workspace__name"]
    raw_id_fields = ["workspace"]
    readonly_fields = ["registered_at"]
    inlines = [TargetInline]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["name", "module", "kind"]
    list_filter = ["kind"]
    list_select_related = ["module"]
    search_fields = ["name", "module__name"]
    raw_id_fields = ["module"]
