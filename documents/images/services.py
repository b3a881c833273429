"""Uploading an image into a document: checked, sniffed, stored, one row per image."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction

from documents import conf
from documents.images import sniff
from documents.images.models import DocumentImage
from documents.models import Document
from documents.permissions import can_write, role_for


class ImageTooLarge(ValueError):
    """Past the byte or pixel limit (answered with 413)."""


class NotAnImage(ValueError):
    """Not one of the accepted formats (answered with 415)."""


def image_create(
    *, document: Document, user: Any, data: bytes, check_role: bool = True
) -> DocumentImage:
    """Store `data` as an image of `document` after sniffing it; owners and editors may."""
    if check_role and not can_write(role_for(user, document)):
        raise PermissionDenied("Only the owner and editors may add images.")
    max_bytes = int(conf.get("MAX_IMAGE_BYTES"))
    if len(data) > max_bytes:
        raise ImageTooLarge(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
    if not data:
        raise NotAnImage("The file is empty.")
    try:
        sniffed = sniff.sniff(data, max_pixels=int(conf.get("MAX_IMAGE_PIXELS")))
    except sniff.TooManyPixels as exc:
        raise ImageTooLarge(str(exc)) from None
    except sniff.NotAnImage as exc:
        raise NotAnImage(str(exc)) from None
    image = DocumentImage(
        document=document,
        content_type=sniffed.content_type,
        width=sniffed.width,
        height=sniffed.height,
        size=len(data),
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    # The bytes first, then the row: a failed insert removes the bytes again.
    # Callers that make several images in one transaction (an import) remove
    # the bytes of all of them with `images_discard` when it rolls back.
    image.file.save(f"image.{sniffed.extension}", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            image.save()
    except BaseException:
        image.file.delete(save=False)
        raise
    return image


def images_discard(*, images: list[DocumentImage]) -> None:
    """Remove the stored bytes of images whose rows were rolled back."""
    for image in images:
        if image.file:
            image.file.storage.delete(image.file.name)


def image_of(*, document: Document, image_id: Any) -> DocumentImage | None:
    """The image with this id if it belongs to `document` (never one of another document)."""
    return DocumentImage.objects.filter(document_id=document.pk, pk=image_id).first()
