"""Runs, steps and executions are written by the orchestrator: the admin shows them read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from projects.admin import ViewOnlyAdmin
from runs.models import Dependency, Execution, LogMessage, Result, Run, Step


class ViewOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class StepInline(ViewOnlyInline):
    model = Step
    fields = ["id", "module", "target", "target_type", "parent", "group", "created_at"]
    ordering = ["number"]


@admin.register(Run)
class RunAdmin(ViewOnlyAdmin):
    list_display = ["id", "workspace", "project", "parent", "idempotency_key", "created_at"]
    list_filter = ["project", "created_at"]
    list_select_related = ["workspace", "project"]
    search_fields = ["id", "idempotency_key", "workspace__name"]
    date_hierarchy = "created_at"
    inlines = [StepInline]


class ExecutionInline(ViewOnlyInline):
    model = Execution
    fields = [
        "id",
        "attempt",
        "state",
        "workspace",
        "session",
        "created_at",
        "execute_after",
        "assigned_at",
        "completed_at",
    ]
    ordering = ["attempt"]


@admin.register(Step)
class StepAdmin(ViewOnlyAdmin):
    list_display = ["id", "module", "target", "target_type", "parent", "created_at"]
    list_filter = ["target_type"]
    search_fields = ["id", "module", "target"]
    date_hierarchy = "created_at"
    inlines = [ExecutionInline]


class ResultInline(admin.StackedInline):
    model = Result
    fk_name = "execution"
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DependencyInline(ViewOnlyInline):
    model = Dependency
    fk_name = "execution"
    fields = ["dependency", "created_at"]


@admin.register(Execution)
class ExecutionAdmin(ViewOnlyAdmin):
    list_display = ["id", "step_target", "state", "workspace", "session", "created_at"]
    list_filter = ["state", "workspace__project"]
    list_select_related = ["step", "workspace"]
    search_fields = ["id", "step__module", "step__target"]
    date_hierarchy = "created_at"
    inlines = [ResultInline, DependencyInline]

    @admin.display(description="target", ordering="step__target")
    def step_target(self, execution: Execution) -> str:
        return f"{execution.step.module}/{execution.step.target}"


@admin.register(Result)
class ResultAdmin(ViewOnlyAdmin):
    list_display = ["execution", "type", "error_type", "retryable", "created_at"]
    list_filter = ["type", "retryable"]
    search_fields = ["execution__id", "error_type", "error_message"]
    date_hierarchy = "created_at"


@admin.register(Dependency)
class DependencyAdmin(ViewOnlyAdmin):
    list_display = ["execution", "dependency", "created_at"]
    search_fields = ["execution__id", "dependency__id"]


@admin.register(LogMessage)
class LogMessageAdmin(ViewOnlyAdmin):
    list_display = ["execution", "timestamp", "level", "template"]
    list_filter = ["level"]
    search_fields = ["execution__id", "template"]
    date_hierarchy = "timestamp"
