from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from projects.errors import DomainError
from projects.models import OrchestratorLease, Project, RoleGrant, ServiceToken, WorkerSession
from projects.patterns import parse_patterns
from projects.permissions import principal_of_user
from projects.tokens import create_token, revoke_token


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


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0
    fields = ["role", "workspaces", "project"]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    """Who may do what in Studio: a role in the workspaces a pattern covers, for a user or for
    everyone in a group (superusers are admins everywhere without one)."""

    list_display = ["__str__", "role", "workspaces", "user", "group", "project"]
    list_filter = ["role", "project"]
    list_select_related = ["user", "group", "project"]
    search_fields = ["user__username", "group__name", "workspaces"]
    fields = ["role", "workspaces", "user", "group", "project"]


class ServiceTokenForm(forms.ModelForm):
    patterns = forms.CharField(
        label="Workspaces",
        help_text="Comma-separated: '*', a name, or 'name/*' (that workspace and below).",
    )

    class Meta:
        model = ServiceToken
        fields = ["project", "name"]

    def clean_patterns(self) -> list[str]:
        try:
            return parse_patterns(self.cleaned_data["patterns"])
        except DomainError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(ServiceToken)
class ServiceTokenAdmin(admin.ModelAdmin):
    """Service tokens: created here or with ``coflux tokens create`` (the secret is shown once),
    revoked with the action; never edited or deleted, so that what acted stays on record."""

    list_display = ["id", "name", "project", "workspaces", "created_by", "created_at", "revoked_at"]
    list_filter = ["project", "revoked_at"]
    search_fields = ["id", "name", "created_by"]
    readonly_fields = ["id", "workspaces", "created_by", "created_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = ServiceTokenForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["project", "name", "patterns"]
        return ["id", "project", "name", "workspaces", "created_by", "created_at", "revoked_at"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ServiceToken, form: Any, change: bool) -> None:
        principal = principal_of_user(request.user)
        patterns = form.cleaned_data["patterns"]
        try:
            token, secret = create_token(principal, obj.project, obj.name, patterns)
        except DomainError as error:
            raise PermissionDenied(error.message) from None
        obj.pk = token.pk
        self.message_user(
            request,
            f"Token {token.id} created. Its secret, shown this once only: {secret}",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        principal = principal_of_user(request.user)
        for token in queryset.select_related("project"):
            revoke_token(principal, token.project, token.id)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")


# Roles are granted on a user's or a group's own page too.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserWithRolesAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, RoleGrantInline]


@admin.register(Group)
class GroupWithRolesAdmin(GroupAdmin):
    inlines = [*GroupAdmin.inlines, RoleGrantInline]
