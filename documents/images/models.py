"""An image uploaded into a document; imported by documents/models.py so the app sees it."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse


def image_storage() -> Storage:
    """STORAGES["images"] when the site names one (S3, say), else the default storage."""
    return storages["images" if "images" in settings.STORAGES else "default"]


def image_path(instance: DocumentImage, filename: str) -> str:
    # Named by ids only: the uploader's file name never reaches the storage.
    return f"documents/{instance.document_id}/images/{instance.pk}{filename[filename.rfind('.') :]}"


class DocumentImage(models.Model):
    """Bytes sniffed as PNG, JPEG, GIF or WebP, belonging to exactly one document."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="images"
    )
    file = models.FileField(upload_to=image_path, storage=image_storage, max_length=255)
    # What the bytes are, as sniffed on upload: the client's word is never kept.
    content_type = models.CharField(max_length=32)
    # Kept so the editor and exports can reserve the space before the bytes load.
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.document_id}/{self.pk}"

    @property
    def src(self) -> str:
        """The URL the document's body refers to this image by."""
        return reverse("document-image", kwargs={"pk": self.document_id, "image_id": self.pk})


@receiver(post_delete, sender=DocumentImage)
def _delete_file(sender: Any, instance: DocumentImage, **kwargs: Any) -> None:
    """The bytes go with the row (and with the document, whose delete cascades here)."""
    # After the commit: a delete that rolls back must leave the bytes in place.
    if instance.file:
        name, storage = instance.file.name, instance.file.storage
        transaction.on_commit(lambda: storage.delete(name))
