from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from projects import session_tokens
from projects.errors import DomainError
from projects.patterns import check_pattern


class ProjectManager(models.Manager["Project"]):
    def ensure(self, name: str) -> Project:
        project, _ = self.get_or_create(name=name)
        return project


class Project(models.Model):
    """The unit of isolation: its own workspaces, runs and orchestrator."""

    name = models.SlugField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProjectManager()

    def __str__(self) -> str:
        return self.name


def new_session_id() -> str:
    return "S" + secrets.token_hex(8)


class WorkerSessionManager(models.Manager["WorkerSession"]):
    def create_with_token(self, **fields: Any) -> tuple[WorkerSession, str]:
        """A new session and its token ``<session>.<secret>``, the only time the secret is
        known: give it to the worker that will use the session."""
        secret, secret_hash = session_tokens.new_secret()
        session = self.create(secret_hash=secret_hash, **fields)
        return session, session_tokens.token(session.id, secret)


class WorkerSession(models.Model):
    """A worker's standing with the server; survives reconnects of the same worker."""

    id = models.CharField(primary_key=True, max_length=32, default=new_session_id)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sessions")
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="sessions"
    )
    targets = models.JSONField(default=list, help_text="Targets the worker declares it hosts.")
    concurrency = models.PositiveIntegerField(default=0, help_text="0 means unlimited.")
    provides = models.JSONField(default=dict)
    accepts = models.JSONField(
        default=dict, help_text="Only work requiring one of these values per key is taken."
    )
    secret_hash = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the secret that resuming it takes."
    )
    connected = models.BooleanField(default=False)
    channel_name = models.CharField(
        max_length=200, blank=True, help_text="The server-side connection serving the worker."
    )
    draining = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    objects = WorkerSessionManager()

    class Meta:
        indexes = [
            # The orchestrator loads a project's live sessions when it starts.
            models.Index(fields=["project", "expired_at"], name="session_live_idx"),
        ]

    def __str__(self) -> str:
        return self.id


class OrchestratorLease(models.Model):
    """Which server process runs a project's orchestrator, until when.

    A process claims the project with a conditional UPDATE (free or expired lease) and renews it
    while it runs; if it dies, another process takes over once ``expires_at`` passes.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True)
    holder = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.project} → {self.holder or 'nobody'}"


def new_token_id() -> str:
    return "T" + secrets.token_hex(6)


class ServiceTokenQuerySet(models.QuerySet["ServiceToken"]):
    def live(self) -> ServiceTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ServiceToken(models.Model):
    """A credential for CI, scripts and workers, limited to the workspaces its patterns cover
    (see ``projects.patterns``); only its hash is kept (``projects.service_tokens``)."""

    id = models.CharField(primary_key=True, max_length=32, default=new_token_id)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=200)
    workspaces = models.JSONField(
        default=list, help_text="Workspace patterns: '*', a name, or 'name/*' (it and below)."
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.CharField(max_length=200, blank=True, help_text="Who created it.")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ServiceTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Role(models.TextChoices):
    VIEWER = "viewer", "viewer: read"
    OPERATOR = "operator", "operator: submit, re-run, cancel, respond, manage workspaces"
    ADMIN = "admin", "admin: everything, tokens and users too"


class RoleGrant(models.Model):
    """A role a person (or everyone in a group) has in the workspaces a pattern covers."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    workspaces = models.CharField(
        max_length=210,
        default="*",
        help_text="'*' (every workspace), a name, or 'name/*' (that workspace and below).",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="coflux_roles",
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="coflux_roles"
    )
    project = models.ForeignKey(
        Project,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_grants",
        help_text="Leave empty for every project.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="role_grant_user_or_group",
            )
        ]

    def __str__(self) -> str:
        holder = self.user or self.group
        return f"{holder}: {self.role} in {self.workspaces}"

    def clean(self) -> None:
        try:
            self.workspaces = check_pattern(self.workspaces)
        except DomainError as error:
            raise ValidationError({"workspaces": error.message}) from None
        if self.user_id is not None and self.group_id is not None:
            raise ValidationError("Grant the role to a user or to a group, not both.")
