"""Writes of the home: stars and recent opens (folders, copies and templates have modules
of their own)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from documents.library.models import RecentOpen, Star
from documents.models import Document


def star_set(*, user: Any, document: Document, starred: bool) -> None:
    """Star or unstar a document the user can open (the caller checked they can)."""
    if starred:
        Star.objects.get_or_create(user_id=user.pk, document=document)
    else:
        Star.objects.filter(user_id=user.pk, document=document).delete()


def recent_open_record(*, user: Any, document: Document) -> None:
    """Note that the user opened the document now, for the "recent" view."""
    now = timezone.now()
    if RecentOpen.objects.filter(user_id=user.pk, document=document).update(opened_at=now):
        return
    try:
        with transaction.atomic():
            RecentOpen.objects.create(user_id=user.pk, document=document, opened_at=now)
    except IntegrityError:
        # The same user opened it in another tab at the same moment.
        RecentOpen.objects.filter(user_id=user.pk, document=document).update(opened_at=now)
