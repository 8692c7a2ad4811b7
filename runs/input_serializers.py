"""The shapes of the inputs API (``runs.input_api``), declared once: what the views accept and
return, and what the OpenAPI schema says they do. Keys are camelCase."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from runs.inputs import response_of
from runs.models import Input
from runs.values import describe


class InputActionsSerializer(serializers.Serializer):
    respond = serializers.CharField()
    dismiss = serializers.CharField()


class InputResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["value", "dismissed", "cancelled"])
    value = serializers.JSONField(required=False, allow_null=True)


class InputSerializer(serializers.Serializer):
    """An input: the question, who asked it, and how (and whether) it was answered."""

    id = serializers.CharField()
    runId = serializers.CharField(source="run_id")
    executionId = serializers.CharField(source="execution_id")
    workspace = serializers.CharField(source="workspace.name")
    key = serializers.CharField()
    title = serializers.CharField()
    template = serializers.CharField()
    placeholders = serializers.SerializerMethodField(
        help_text="Placeholder name → its value as plain JSON (references described)."
    )
    schema = serializers.JSONField(allow_null=True)
    actions = InputActionsSerializer(allow_null=True)
    initial = serializers.JSONField(allow_null=True)
    requires = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    state = serializers.ChoiceField(choices=Input.State.values)
    response = serializers.SerializerMethodField()
    respondedBy = serializers.CharField(source="responded_by")
    respondedAt = serializers.DateTimeField(source="responded_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    def get_placeholders(self, found: Input) -> dict[str, Any]:
        return {name: describe(value) for name, value in found.placeholders.items()}

    def get_response(self, found: Input) -> dict[str, Any] | None:
        return response_of(found)


class InputListSerializer(serializers.Serializer):
    inputs = InputSerializer(many=True)


class RespondSerializer(serializers.Serializer):
    value = serializers.JSONField(allow_null=True, help_text="The response; null is a value.")


class DismissSerializer(serializers.Serializer):
    """No fields."""
