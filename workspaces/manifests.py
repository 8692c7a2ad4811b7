"""Manifests: the workflows a workspace has registered, module by module.

A manifest body is ``{"modules": {"<module>": [<workflow>, ...]}}`` where each workflow is::

    {"name": str, "type": "workflow",
     "parameters": [{"name": str, "annotation": str | null, "default": str | null}],
     "instruction": str | null, "options": {...}}

``default`` is the JSON encoding of the parameter's default value, null when it has none.
Registering a module replaces its whole set of workflows; modules not named are left alone.
Archiving a module hides it (and stops submissions of its workflows from the API and CLI) until
it is registered again.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.db import transaction
from django.utils import timezone

from coflux_server.api_errors import invalid_request
from projects.errors import Code, DomainError
from workspaces.models import Module, Target, Workspace
from workspaces.serializers import ManifestsSerializer


class InvalidManifest(DomainError):
    code = Code.INVALID_MANIFEST


class Parameter(TypedDict):
    name: str
    annotation: str | None
    default: str | None


class WorkflowDefinition(TypedDict):
    name: str
    type: str
    parameters: list[Parameter]
    instruction: str | None
    options: dict[str, Any]


def parse_manifests(body: Any) -> dict[str, list[WorkflowDefinition]]:
    """Check a manifest body against its declared shape (``ManifestsSerializer``); raise
    ``InvalidManifest`` naming the first bad field, with every bad field in its details."""
    serializer = ManifestsSerializer(data=body)
    if not serializer.is_valid():
        refusal = invalid_request(serializer.errors)
        raise InvalidManifest(refusal.message, details=refusal.details)
    return {
        module: [
            {
                "name": workflow["name"],
                "type": "workflow",
                "parameters": [
                    {
                        "name": parameter["name"],
                        "annotation": parameter["annotation"],
                        "default": parameter["default"],
                    }
                    for parameter in workflow["parameters"]
                ],
                "instruction": workflow["instruction"],
                "options": dict(workflow["options"]),
            }
            for workflow in workflows
        ]
        for module, workflows in serializer.validated_data["modules"].items()
    }


def register_manifests(
    workspace: Workspace, modules: dict[str, list[WorkflowDefinition]]
) -> list[Module]:
    """Replace the registered workflows of each module named, un-archiving it if needed."""
    now = timezone.now()
    with transaction.atomic():
        # Two registrations of a new module would both insert it; the row lock on the
        # workspace makes the second wait and find the first one's module.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        existing = {m.name: m for m in Module.objects.filter(workspace=workspace, name__in=modules)}
        registered: list[Module] = []
        for name in sorted(modules):
            module = existing.get(name)
            if module is None:
                module = Module.objects.create(workspace=workspace, name=name, registered_at=now)
            else:
                module.archived = False
                module.registered_at = now
                module.save(update_fields=["archived", "registered_at"])
            registered.append(module)
        Target.objects.filter(module__in=registered).delete()
        Target.objects.bulk_create(
            Target(
                module=module,
                name=definition["name"],
                kind=Target.Kind.WORKFLOW,
                parameters=definition["parameters"],
                instruction=definition["instruction"] or "",
                options=definition["options"],
            )
            for module in registered
            for definition in modules[module.name]
        )
    return registered


def archive_module(workspace: Workspace, name: str) -> Module:
    """Hide the workspace's registered module ``name`` until it is registered again.

    Its workflows stay stored (and runs of them stay as they are); workers that declare its
    targets keep running them. Archiving an archived module changes nothing.
    """
    with transaction.atomic():
        # The same lock as registering: an archive and a registration apply one after the other.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        module = Module.objects.filter(workspace=workspace, name=name).first()
        if module is None:
            raise DomainError(
                f"No module {name!r} registered in workspace {workspace.name!r}.",
                code=Code.MODULE_NOT_FOUND,
                details={"module": name, "workspace": workspace.name},
            )
        if not module.archived:
            module.archived = True
            module.save(update_fields=["archived"])
    return module


def target_definition(target: Target) -> WorkflowDefinition:
    return {
        "name": target.name,
        "type": target.kind,
        "parameters": target.parameters,
        "instruction": target.instruction or None,
        "options": target.options,
    }


def workspace_manifests(workspace: Workspace) -> dict[str, list[WorkflowDefinition]]:
    """The registered workflows of the workspace's modules that are not archived."""
    modules = (
        Module.objects.filter(workspace=workspace, archived=False)
        .order_by("name")
        .prefetch_related("targets")
    )
    return {
        module.name: [
            target_definition(t) for t in sorted(module.targets.all(), key=lambda t: t.pk)
        ]
        for module in modules
    }
