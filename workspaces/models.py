from __future__ import annotations

import secrets
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


class TargetManager(models.Manager["Target"]):
    def workflow(self, workspace: Workspace, module: str, name: str) -> Target | None:
        """The workflow registered as ``module/name`` in the workspace (in a module that is not
        archived), with its module; None if there is none."""
        return (
            self.filter(
                module__workspace=workspace,
                module__name=module,
                module__archived=False,
                name=name,
                kind=Target.Kind.WORKFLOW,
            )
            .select_related("module")
            .first()
        )


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

    objects = TargetManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module", "name"], name="target_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.module.name}/{self.name}"


class Pool(models.Model):
    """How a workspace has workers launched on demand (SPEC §1, §3.14).

    ``config`` holds the launcher's fields as the API names them (``image``, ``directory``,
    ``env``, ``concurrency``, …; see ``workspaces.pool_fields``).
    """

    class Type(models.TextChoices):
        PROCESS = "process"
        DOCKER = "docker"
        KUBERNETES = "kubernetes"

    class State(models.TextChoices):
        ACTIVE = "active"
        DISABLED = "disabled"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pools")
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=Type.choices)
    modules = models.JSONField(
        default=list, help_text="Modules its workers host (and their submodules); [] = any."
    )
    provides = models.JSONField(default=dict)
    accepts = models.JSONField(default=dict)
    config = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="pool_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


def new_launch_id() -> str:
    return "L" + secrets.token_hex(6)


class Launch(models.Model):
    """A worker a pool launched, from the launch until it stopped.

    ``launching``: asked of the launcher, the worker not yet connected with the targets it
    hosts; ``active``: it did (it may be given work); ``draining``: being stopped (idle, its
    pool disabled or gone, its workspace archived); ``stopped``: stopped by us; ``failed``: the
    launcher refused or it never connected; ``dead``: it ended without being asked to.
    """

    class State(models.TextChoices):
        LAUNCHING = "launching"
        ACTIVE = "active"
        DRAINING = "draining"
        STOPPED = "stopped"
        FAILED = "failed"
        DEAD = "dead"

    id = models.CharField(primary_key=True, max_length=32, default=new_launch_id)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="launches")
    pool = models.ForeignKey(
        Pool, null=True, blank=True, on_delete=models.SET_NULL, related_name="launches"
    )
    pool_name = models.CharField(max_length=100, help_text="Kept when the pool is deleted.")
    session = models.ForeignKey(
        "projects.WorkerSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="launches",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.LAUNCHING)
    launcher = models.JSONField(
        default=dict, help_text="The launcher's type and fields it was launched with."
    )
    handle = models.JSONField(
        null=True, blank=True, help_text="What the launcher returned (a PID, a container ID)."
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    launched_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    draining_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # A pool's launches, newest first (``pools launches``, Studio's pools page).
            models.Index(fields=["pool", "-created_at"], name="launch_pool_idx"),
            # The orchestrator loads the launches that have not ended when it starts.
            models.Index(fields=["state"], name="launch_state_idx"),
        ]

    def __str__(self) -> str:
        return self.id
