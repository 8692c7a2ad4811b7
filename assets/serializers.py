"""The shapes of the assets API (``assets.api``), declared once: what the views accept and
return, and what the OpenAPI schema says they do. Keys are camelCase."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.blobs import KEY, is_key
from coflux_server.api_fields import Integer, NonEmptyObject, Object, StrictSerializer, Text

MAX_ENTRIES = 10_000
MAX_PATH = 1024
MAX_NAME = 255


def check_entry_path(path: str) -> str:
    """``path`` if it is a relative ``/``-separated path with no empty, ``.`` or ``..`` part:
    restoring it can only write inside the directory it is restored to."""
    if not 0 < len(path) <= MAX_PATH:
        raise serializers.ValidationError(f"An entry path has 1 to {MAX_PATH} characters.")
    if any(part in ("", ".", "..") for part in path.split("/")) or "\\" in path:
        raise serializers.ValidationError(
            "Use a relative path with '/' between its parts, and no empty, '.' or '..' parts."
        )
    return path


class NewEntrySerializer(StrictSerializer):
    blobKey = Text(
        validators=[
            RegexValidator(f"^{KEY.pattern}$", "Expected 64 lowercase hexadecimal digits.")
        ],
        help_text="The SHA-256 of its content, in the blob store already.",
    )
    size = Integer(min_value=0, help_text="Bytes.")
    metadata = Object(required=False, default=dict, help_text='{"type": MIME type}')

    def validate_blobKey(self, value: str) -> str:
        # The pattern's "$" would also let a trailing newline through.
        if not is_key(value):
            raise serializers.ValidationError("Expected 64 lowercase hexadecimal digits.")
        return value


class NewAssetSerializer(StrictSerializer):
    name = Text(required=False, allow_null=True, allow_blank=True, max_length=MAX_NAME)
    executionId = Text(
        required=False, allow_null=True, help_text="The execution that made it, if any."
    )
    entries = NonEmptyObject(
        child=NewEntrySerializer(),
        help_text="Path → entry; relative paths without . or ..",
    )

    def validate_entries(self, entries: dict[str, Any]) -> dict[str, Any]:
        if len(entries) > MAX_ENTRIES:
            raise serializers.ValidationError(f"Give at most {MAX_ENTRIES} entries.")
        bad: dict[str, list[str]] = {}
        for path in entries:
            try:
                check_entry_path(path)
            except serializers.ValidationError as exc:
                bad[path] = [str(message) for message in exc.detail]
        if bad:
            raise serializers.ValidationError(bad)
        return entries


class EntrySerializer(serializers.Serializer):
    path = serializers.CharField()
    blobKey = serializers.CharField(source="blob_key")
    size = serializers.IntegerField()
    metadata = serializers.DictField()


class AssetSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.SerializerMethodField()
    executionId = serializers.CharField(source="execution_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    count = serializers.IntegerField(source="total_count")
    size = serializers.IntegerField(source="total_size", help_text="Bytes, all entries.")
    entries = EntrySerializer(many=True, help_text="By path.")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_name(self, asset: Any) -> str | None:
        return asset.name or None
