"""Writes on documents: plain sync functions, keyword-only, each one transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from documents.comments import events as comment_events
from documents.library import search
from documents.models import TITLE_MAX_LENGTH, Document
from documents.permissions import can_manage, can_write, role_for
from documents.realtime import messages
from documents.storage import server_edits

DEFAULT_TITLE = "Untitled document"


def normalize_title(title: str) -> str:
    """A title as stored: one line, trimmed, never empty, within the column's length."""
    cleaned = " ".join(title.split())[:TITLE_MAX_LENGTH].strip()
    return cleaned or DEFAULT_TITLE


@transaction.atomic
def document_create(*, owner: Any, title: str = DEFAULT_TITLE) -> Document:
    """A new empty document owned by `owner`."""
    document = Document.objects.create(owner=owner, title=normalize_title(title))
    search.text_save(document_id=document.pk, body="", title=document.title)
    return document


@transaction.atomic
def document_rename(*, document: Document, title: str, user: Any) -> Document:
    """Give the document a new title; owners and editors may."""
    if not can_write(role_for(user, document)):
        raise PermissionDenied("Only the owner and editors may rename a document.")
    document.title = normalize_title(title)
    document.save(update_fields=["title", "updated_at"])
    search.title_saved(document_id=document.pk)
    # Editors show the title from the shared document; change it there too so
    # every open page updates live.
    server_edits.edit_document(
        document_id=document.pk,
        user_id=user.pk,
        mutate=lambda doc: server_edits.set_title(doc, document.title),
    )
    return document


@transaction.atomic
def document_delete(*, document: Document, user: Any) -> None:
    """Delete the document with its history; only the owner may."""
    if not can_manage(role_for(user, document)):
        raise PermissionDenied("Only the owner may delete a document.")
    document_id = document.pk
    document.delete()
    # Open editors are told once the delete is certain.
    transaction.on_commit(lambda: messages.announce(document_id, messages.document_deleted()))
    transaction.on_commit(lambda: comment_events.document_closed(document_id))
