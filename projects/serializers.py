"""The shapes of the tokens API (``projects.api``), declared once: what the views accept and
return, and what the OpenAPI schema says they do. Keys are camelCase."""

from __future__ import annotations

from rest_framework import serializers

from coflux_server.api_fields import StrictSerializer, Text


class TokenSerializer(serializers.Serializer):
    """A service token as listed: never its secret."""

    id = serializers.CharField()
    name = serializers.CharField()
    workspaces = serializers.ListField(
        child=serializers.CharField(),
        help_text="Workspace patterns: '*', a name, or 'name/*' (that workspace and below).",
    )
    createdBy = serializers.CharField(source="created_by")
    createdAt = serializers.DateTimeField(source="created_at")
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)


class TokenListSerializer(serializers.Serializer):
    tokens = TokenSerializer(many=True, help_text="Newest first, revoked ones too.")


class CreatedTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The secret: shown this once, never again.")


class CreateTokenSerializer(StrictSerializer):
    name = Text(min_length=1, max_length=200, help_text="What the token is for.")
    workspaces = serializers.JSONField(
        help_text="Patterns as a list (['prod', 'dev/*']) or a comma-separated string; each "
        "must lie within what the caller administers."
    )
