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

from projects.errors import Code, DomainError
from workspaces.models import Module, Target, Workspace


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


_TARGET_KEYS = {"name", "type", "parameters", "instruction", "options"}
_PARAMETER_KEYS = {"name", "annotation", "default"}


def parse_manifests(body: Any) -> dict[str, list[WorkflowDefinition]]:
    """Check a manifest body's shape; raise ``InvalidManifest`` naming the first bad field."""
    if not isinstance(body, dict):
        raise InvalidManifest("The body must be a JSON object.")
    unknown = set(body) - {"modules"}
    if unknown:
        raise InvalidManifest(f"Unknown field {sorted(unknown)[0]!r}.")
    modules = body.get("modules")
    if not isinstance(modules, dict):
        raise InvalidManifest("'modules' must be an object mapping module names to workflows.")
    parsed: dict[str, list[WorkflowDefinition]] = {}
    for module, targets in modules.items():
        if not module or len(module) > 255:
            raise InvalidManifest(f"Invalid module name {module!r}.")
        where = f"modules[{module!r}]"
        if not isinstance(targets, list):
            raise InvalidManifest(f"{where} must be a list of workflows.")
        definitions = [_parse_target(t, f"{where}[{i}]") for i, t in enumerate(targets)]
        names = [d["name"] for d in definitions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidManifest(f"{where} names workflow {duplicates[0]!r} more than once.")
        parsed[module] = definitions
    return parsed


def _check_object(value: Any, allowed: set[str], where: str) -> None:
    if not isinstance(value, dict):
        raise InvalidManifest(f"{where} must be an object.")
    unknown = set(value) - allowed
    if unknown:
        raise InvalidManifest(f"{where} has unknown field {sorted(unknown)[0]!r}.")


def _parse_target(target: Any, where: str) -> WorkflowDefinition:
    _check_object(target, _TARGET_KEYS, where)
    name = target.get("name")
    if not isinstance(name, str) or not name or "/" in name or len(name) > 255:
        raise InvalidManifest(f"{where}.name must be a non-empty string without '/'.")
    if target.get("type") != "workflow":
        raise InvalidManifest(f"{where}.type must be 'workflow' (manifests list workflows only).")
    parameters = target.get("parameters", [])
    if not isinstance(parameters, list):
        raise InvalidManifest(f"{where}.parameters must be a list.")
    parsed_parameters = [
        _parse_parameter(p, f"{where}.parameters[{i}]") for i, p in enumerate(parameters)
    ]
    instruction = target.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise InvalidManifest(f"{where}.instruction must be a string or null.")
    options = target.get("options", {})
    if not isinstance(options, dict):
        raise InvalidManifest(f"{where}.options must be an object.")
    return {
        "name": name,
        "type": "workflow",
        "parameters": parsed_parameters,
        "instruction": instruction,
        "options": options,
    }


def _parse_parameter(parameter: Any, where: str) -> Parameter:
    _check_object(parameter, _PARAMETER_KEYS, where)
    name = parameter.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidManifest(f"{where}.name must be a non-empty string.")
    annotation = parameter.get("annotation")
    if annotation is not None and not isinstance(annotation, str):
        raise InvalidManifest(f"{where}.annotation must be a string or null.")
    default = parameter.get("default")
    if default is not None and not isinstance(default, str):
        raise InvalidManifest(f"{where}.default must be a JSON-encoded string or null.")
    return {"name": name, "annotation": annotation, "default": default}


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
