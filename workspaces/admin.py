from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from projects.errors import DomainError
from projects.mailbox import wake_after_commit
from workspaces.actions import archive_workspace, check_no_cycle, set_workspace_state
from workspaces.models import Module, Target, Workspace
from workspaces.names import check_workspace_name


class WorkspaceForm(forms.ModelForm):
    """Checks what the API checks: a valid name, and a base that makes no cycle."""

    class Meta:
        model = Workspace
        fields = ["project", "name", "base"]

    def clean_name(self) -> str:
        try:
            return check_workspace_name(self.cleaned_data["name"]).lower()
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self) -> dict:
        cleaned = super().clean()
        base = cleaned.get("base")
        if base is not None:
            if base.state == Workspace.State.ARCHIVED:
                self.add_error("base", "An archived workspace cannot be a base.")
            elif self.instance.pk is not None:
                try:
                    check_no_cycle(self.instance, base)
                except DomainError as exc:
                    self.add_error("base", exc.message)
        return cleaned


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    """State changes go through the actions, which tell the project's orchestrator."""

    form = WorkspaceForm
    list_display = ["name", "project", "base", "state", "created_at"]
    list_filter = ["state", "project"]
    list_select_related = ["project", "base"]
    search_fields = ["name"]
    raw_id_fields = ["base"]
    readonly_fields = ["state", "created_at"]
    actions = ["pause", "resume", "archive"]

    def save_model(self, request: HttpRequest, obj: Workspace, form: forms.Form, change: bool):
        super().save_model(request, obj, form, change)
        # A renamed or re-based workspace: the orchestrator reloads workspaces on a wake.
        wake_after_commit(obj.project_id)

    @admin.action(description="Pause selected workspaces")
    def pause(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        for workspace in queryset.filter(state=Workspace.State.ACTIVE):
            set_workspace_state(workspace, Workspace.State.PAUSED)

    @admin.action(description="Resume selected workspaces")
    def resume(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        for workspace in queryset.filter(state=Workspace.State.PAUSED):
            set_workspace_state(workspace, Workspace.State.ACTIVE)

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
            except DomainError as exc:
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
