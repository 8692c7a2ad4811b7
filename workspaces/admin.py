from __future__ import annotations

from django.contrib import admin

from workspaces.models import Module, Target, Workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "base", "state", "created_at"]
    list_filter = ["state", "project"]
    list_select_related = ["project", "base"]
    search_fields = ["name"]
    raw_id_fields = ["base"]
    readonly_fields = ["created_at"]


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
