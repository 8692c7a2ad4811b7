from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

if TYPE_CHECKING:
    from projects.models import Project


class WorkspaceManager(models.Manager["Workspace"]):
    def live(self, project: Project) -> models.QuerySet[Workspace]:
        """The project's workspaces that are not archived."""
        return self.filter(project=project).exclude(state=Workspace.State.ARCHIVED)

    def named(self, project: Project, name: str) -> Workspace | None:
        """The live workspace of that name, whatever its case (names are case-insensitive)."""
        return self.live(project).filter(name__iexact=name).first()

    def ensure(self, project: Project, name: str) -> Workspace:
        """The live workspace of that name (any case), created if there is none."""
        found = self.named(project, name)
        if found is not None:
            return found
        try:
            with transaction.atomic():
                return self.create(project=project, name=name)
        except IntegrityError:
            # Another request created it between our lookup and insert.
            return self.live(project).get(name__iexact=name)


class Workspace(models.Model):
    """A namespace for runs and workers; ``base`` makes workspaces a tree for inheritance."""

    class State(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        ARCHIVED = "archived"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    base = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceManager()

    class Meta:
        constraints = [
            # Names are case-insensitive: "Dev" and "dev" are the same workspace.
            models.UniqueConstraint(
                "project",
                Lower("name"),
                condition=~models.Q(state="archived"),
                name="workspace_unique_live_name",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def ancestry(self) -> list[Workspace]:
        """This workspace followed by its bases, nearest first."""
        chain: list[Workspace] = []
        node: Workspace | None = self
        while node is not None and node not in chain:
            chain.append(node)
            node = node.base
        return chain


class Module(models.Model):
    """A registered module (manifest) of a workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="modules")
    name = models.CharField(max_length=255)
    registered_at = models.DateTimeField(default=timezone.now)
    archived = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="module_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Target(models.Model):
    class Kind(models.TextChoices):
        WORKFLOW = "workflow"
        TASK = "task"

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    parameters = models.JSONField(
        default=list, help_text="[{name, annotation, default}] in declaration order."
    )
    instruction = models.TextField(blank=True, help_text="The function's docstring.")
    options = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module", "name"], name="target_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.module.name}/{self.name}"
