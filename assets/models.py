"""Assets: named sets of files, each entry a path and a blob (SPEC §1, §2.3).

An asset is written once, by the execution that persisted it (its owner), and read by any
execution or client that holds its ID. Its files are blobs: the server keeps only their keys.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from runs.identifiers import RUN_ID_ALPHABET

ASSET_ID_LENGTH = 8


def new_asset_id() -> str:
    """``A`` and a short random string, from the alphabet of run IDs."""
    return "A" + "".join(secrets.choice(RUN_ID_ALPHABET) for _ in range(ASSET_ID_LENGTH))


class AssetManager(models.Manager["Asset"]):
    def record(
        self,
        project: Any,
        *,
        name: str,
        execution: Any,
        entries: Mapping[str, Mapping[str, Any]],
    ) -> Asset:
        """A new asset with ``entries`` (``{path: {"blob_key", "size", "metadata"}}``, checked
        by the caller), in one transaction."""
        for _ in range(5):
            try:
                with transaction.atomic():
                    asset = self.create(
                        id=new_asset_id(),
                        project=project,
                        execution=execution,
                        name=name,
                        total_count=len(entries),
                        total_size=sum(entry["size"] for entry in entries.values()),
                    )
                    AssetEntry.objects.bulk_create(
                        AssetEntry(
                            asset=asset,
                            path=path,
                            blob_key=entry["blob_key"],
                            size=entry["size"],
                            metadata=entry.get("metadata") or {},
                        )
                        for path, entry in entries.items()
                    )
                return asset
            except IntegrityError:
                # Two assets drew the same random ID (about one in 10^11): draw again.
                continue
        raise RuntimeError("could not find a free asset ID")

    def for_project(self, project: Any, asset_id: str) -> Asset | None:
        return (
            self.filter(project=project, pk=asset_id)
            .prefetch_related(models.Prefetch("entries", AssetEntry.objects.order_by("path")))
            .first()
        )


class Asset(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="assets")
    execution = models.ForeignKey(
        "runs.Execution",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assets",
        help_text="The execution that persisted it (none if a client did).",
    )
    name = models.CharField(max_length=255, blank=True)
    total_count = models.PositiveIntegerField()
    total_size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = AssetManager()

    def __str__(self) -> str:
        return f"{self.id} ({self.name})" if self.name else self.id


class AssetEntry(models.Model):
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="entries")
    path = models.CharField(max_length=1024)
    blob_key = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    metadata = models.JSONField(default=dict, blank=True, help_text='{"type": MIME type}')

    class Meta:
        verbose_name_plural = "asset entries"
        constraints = [
            models.UniqueConstraint(fields=["asset", "path"], name="asset_entry_unique_path"),
        ]

    def __str__(self) -> str:
        return self.path
