"""The trash: a deleted document waits there, for its owner only, until restored or purged.

Moving to the trash deletes nothing: the log and the snapshots stay, so a
restore brings the document back with its whole history. While it is there,
every path answers 404 (permissions.document_role and visible_to skip it), open
sockets are closed with NOT_FOUND, pages following its comments are unsubscribed
(comments/events.py), and share links let nobody in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from documents import conf
from documents.comments import events as comment_events
from documents.models import Document, DocumentQuerySet
from documents.permissions import can_manage, role_for
from documents.realtime import messages


def retention() -> timedelta:
    """How long a document stays in the trash."""
    return timedelta(days=conf.get("TRASH_RETENTION_DAYS"))


def purge_due(document: Document) -> datetime | None:
    """When `purge_trash` will delete a trashed document for good."""
    return document.trashed_at + retention() if document.trashed_at else None


def trash_of(user: Any) -> DocumentQuerySet:
    """The user's own trashed documents, most recently trashed first."""
    if not user.is_authenticated:
        return Document.objects.none()
    return Document.objects.trashed().filter(owner_id=user.pk).order_by("-trashed_at", "pk")


@transaction.atomic
def document_trash(*, document: Document, user: Any) -> None:
    """Move the document to the trash and close its open sockets; only the owner may."""
    if not can_manage(role_for(user, document)):
        raise PermissionDenied("Only the owner may delete a document.")
    # A queryset update: the document's updated_at (its place in "last edited") stays.
    Document.objects.filter(pk=document.pk, trashed_at__isnull=True).update(
        trashed_at=timezone.now()
    )
    document_id = document.pk
    transaction.on_commit(lambda: messages.announce(document_id, messages.document_deleted()))
    transaction.on_commit(lambda: comment_events.document_closed(document_id))


@transaction.atomic
def document_restore(*, document_id: UUID, user: Any) -> Document:
    """Bring a trashed document back, history and shares included; only its owner may."""
    document = trash_of(user).select_for_update().filter(pk=document_id).first()
    if document is None:
        raise Document.DoesNotExist("No such document in your trash.")
    Document.objects.filter(pk=document.pk).update(trashed_at=None)
    document.trashed_at = None
    return document


@transaction.atomic
def document_delete_forever(*, document_id: UUID, user: Any) -> str:
    """Delete a document from the owner's trash now, with its history; its title."""
    document = trash_of(user).select_for_update().filter(pk=document_id).first()
    if document is None:
        raise Document.DoesNotExist("No such document in your trash.")
    title = document.title
    document.delete()
    # A page that subscribed in the instant before the trash was emptied hears of it too.
    transaction.on_commit(lambda: comment_events.document_closed(document_id))
    return title


@dataclass(frozen=True)
class Purged:
    id: UUID
    title: str
    trashed_at: datetime


def trash_purge(*, now: datetime | None = None, dry_run: bool = False) -> list[Purged]:
    """Delete for good what was trashed before the retention; what was (or would be) deleted."""
    cutoff = (now or timezone.now()) - retention()
    due = Document.objects.filter(trashed_at__lt=cutoff).order_by("trashed_at", "pk")
    rows = due.only("id", "title", "trashed_at")
    found = [Purged(d.pk, d.title, d.trashed_at or cutoff) for d in rows]
    if dry_run:
        return found
    purged: list[Purged] = []
    for item in found:
        # One document per transaction: a long history is deleted without holding
        # every other purge's locks, and a restore that wins the race is kept.
        with transaction.atomic():
            deleted, _ = Document.objects.filter(pk=item.id, trashed_at__lt=cutoff).delete()
        if deleted:
            purged.append(item)
            comment_events.document_closed(item.id)
    return purged
