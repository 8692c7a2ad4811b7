"""Assets are written by executions: the admin shows them, with their entries, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from assets.models import Asset, AssetEntry
from projects.admin import ViewOnlyAdmin


class AssetEntryInline(admin.TabularInline):
    model = AssetEntry
    fields = ["path", "size", "blob_key", "metadata"]
    ordering = ["path"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(ViewOnlyAdmin):
    list_display = ["id", "name", "project", "execution", "total_count", "total_size", "created_at"]
    list_filter = ["project", "created_at"]
    list_select_related = ["project"]
    search_fields = ["id", "name", "execution__id"]
    date_hierarchy = "created_at"
    raw_id_fields = ["execution"]
    inlines = [AssetEntryInline]


@admin.register(AssetEntry)
class AssetEntryAdmin(ViewOnlyAdmin):
    list_display = ["path", "asset", "size", "blob_key"]
    list_select_related = ["asset"]
    search_fields = ["path", "blob_key", "asset__id"]
    raw_id_fields = ["asset"]
