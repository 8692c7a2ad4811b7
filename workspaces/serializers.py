"""The shapes of the workspaces and manifests API (``workspaces.api``), declared once: what the
views accept and return, and what the OpenAPI schema says they do. Keys are camelCase."""

from __future__ import annotations

from rest_framework import serializers

from coflux_server.api_fields import Object, StrictSerializer, Text
from workspaces.models import Workspace


class WorkspaceSerializer(serializers.Serializer):
    name = serializers.CharField()
    base = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=Workspace.State.choices)


class WorkspaceListSerializer(serializers.Serializer):
    workspaces = WorkspaceSerializer(many=True, help_text="The live ones (archived hidden).")


class CreateWorkspaceSerializer(StrictSerializer):
    # Blank names reach the domain's check of names, which says what a name may be.
    name = Text(
        allow_blank=True, help_text="Lowercase letters, digits, _ and -, in parts separated by /."
    )
    base = Text(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The workspace it inherits from.",
    )


class UpdateWorkspaceSerializer(StrictSerializer):
    """What to change; fields left out stay as they are (``{}`` changes nothing)."""

    name = Text(required=False, allow_blank=True, help_text="A new name.")
    base = Text(
        required=False, allow_null=True, allow_blank=True, help_text="A new base; null: none."
    )


class ArchivedWorkspaceSerializer(WorkspaceSerializer):
    cancelled = serializers.ListField(
        child=serializers.CharField(), help_text="The queued executions cancelled."
    )
    sessions = serializers.ListField(
        child=serializers.CharField(), help_text="The worker sessions ended."
    )


class ParameterSerializer(StrictSerializer):
    name = Text(min_length=1)
    annotation = Text(required=False, allow_null=True, default=None)
    default = Text(
        required=False,
        allow_null=True,
        default=None,
        help_text="The JSON encoding of its default value; null: none.",
    )


class WorkflowSerializer(StrictSerializer):
    """A registered workflow. ``options`` are the target's options as the worker protocol
    declares them (``coflux_wire.protocol``)."""

    name = Text(min_length=1, max_length=255)
    type = serializers.ChoiceField(choices=["workflow"], help_text="Manifests list workflows only.")
    parameters = ParameterSerializer(many=True, required=False, default=list)
    instruction = Text(required=False, allow_null=True, default=None, help_text="Its docstring.")
    options = Object(required=False, default=dict)

    def validate_name(self, value: str) -> str:
        if "/" in value:
            raise serializers.ValidationError("A workflow's name has no '/'.")
        return value


class ManifestsSerializer(StrictSerializer):
    modules = serializers.DictField(
        child=WorkflowSerializer(many=True), help_text="Module name → its workflows."
    )

    def validate_modules(self, modules: dict) -> dict:
        for module, workflows in modules.items():
            if not module or len(module) > 255:
                raise serializers.ValidationError({module: ["Invalid module name."]})
            names = [workflow["name"] for workflow in workflows]
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise serializers.ValidationError(
                    {module: [f"Names workflow {repeated[0]!r} more than once."]}
                )
        return modules


class RegisteredSerializer(serializers.Serializer):
    modules = serializers.ListField(child=serializers.CharField(), help_text="Those registered.")


class ArchivedModuleSerializer(serializers.Serializer):
    workspace = serializers.CharField()
    module = serializers.CharField()
    archived = serializers.BooleanField()
