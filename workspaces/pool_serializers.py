"""The shapes of the pools API (``workspaces.pool_api``), declared once: what the views accept
and return, and what the OpenAPI schema says they do. Keys are camelCase."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from workspaces import pool_fields
from workspaces.models import Launch, Pool


def _tags(**kwargs: Any) -> serializers.DictField:
    return serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), **kwargs
    )


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, rather than ignoring a misspelt one."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise pool_fields.InvalidField(f"Unknown field {unknown[0]!r}.")
        return super().to_internal_value(data)


class PoolSerializer(serializers.Serializer):
    """A pool: how workers are launched for its workspace. Secret fields show as ``********``."""

    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Pool.Type.choices)
    state = serializers.ChoiceField(choices=Pool.State.values)
    modules = serializers.ListField(child=serializers.CharField())
    provides = _tags()
    accepts = _tags()
    # Named ``fields`` in the API; DRF's own ``get_fields`` is why the method is named apart.
    fields = serializers.SerializerMethodField(
        method_name="get_fields_value",
        help_text="The launcher's fields: adapter, concurrency, env, serverHost, serverSecure, "
        "and the type's own (directory; image, dockerHost, networkMode; image, namespace, "
        "apiServer, token, …).",
    )
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_fields_value(self, pool: Pool) -> dict[str, Any]:
        return pool_fields.public(pool.config)


class PoolListSerializer(serializers.Serializer):
    pools = PoolSerializer(many=True)


class CreatePoolSerializer(StrictSerializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Pool.Type.choices)
    modules = serializers.ListField(child=serializers.CharField(), required=False)
    provides = _tags(required=False)
    accepts = _tags(required=False)
    fields = serializers.DictField(
        required=False,
        help_text='Field name → value (JSON, or text as --set gives it); "env.KEY" sets one '
        "variable.",
    )


class UpdatePoolSerializer(StrictSerializer):
    set = serializers.DictField(required=False, help_text="Fields to set; the others are kept.")
    unset = serializers.ListField(child=serializers.CharField(), required=False)
    modules = serializers.ListField(child=serializers.CharField(), required=False)
    provides = _tags(required=False, allow_null=True, help_text="Replaces them; null clears.")
    accepts = _tags(required=False, allow_null=True, help_text="Replaces them; null clears.")


class NoBodySerializer(StrictSerializer):
    """No fields."""


class LaunchSerializer(serializers.Serializer):
    """A worker a pool launched, and where it is in its life."""

    id = serializers.CharField()
    pool = serializers.CharField(source="pool_name")
    state = serializers.ChoiceField(choices=Launch.State.values)
    sessionId = serializers.CharField(source="session_id", allow_null=True)
    error = serializers.CharField(help_text="Why it failed or ended, with its last output.")
    createdAt = serializers.DateTimeField(source="created_at")
    launchedAt = serializers.DateTimeField(source="launched_at", allow_null=True)
    activatedAt = serializers.DateTimeField(source="activated_at", allow_null=True)
    drainingAt = serializers.DateTimeField(source="draining_at", allow_null=True)
    stoppedAt = serializers.DateTimeField(source="stopped_at", allow_null=True)


class LaunchListSerializer(serializers.Serializer):
    launches = LaunchSerializer(many=True)


class ImportSerializer(StrictSerializer):
    pools = serializers.DictField(
        help_text="Pool name → {type, state, modules, provides, accepts, fields}, as exported."
    )
    only = serializers.ListField(child=serializers.CharField(), required=False)
    dryRun = serializers.BooleanField(required=False, default=False)


class ImportPlanSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    dryRun = serializers.BooleanField()


class ExportSerializer(serializers.Serializer):
    pools = serializers.DictField(
        help_text="Pool name → {type, state, modules, provides, accepts, fields}; secret fields "
        "are left out."
    )
