"""Edits the server makes to a document's content (a rename, a restore), written
like any editor's: one Yjs update appended to the log, then announced to the
document's group once the transaction commits."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.db import transaction
from pycrdt import Doc, Map

from documents.models import TITLE_MAX_LENGTH
from documents.realtime import messages
from documents.storage import crdt, store


def edit_document(
    *, document_id: UUID, user_id: int | None, mutate: Callable[[Doc], None]
) -> int | None:
    """Apply `mutate` to the current content and persist the change; its sequence number."""
    loaded = store.load(document_id)
    doc = crdt.doc_from_update(loaded.update)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    mutate(doc)
    doc.unobserve(subscription)
    if not updates:
        return None
    update = updates[0] if len(updates) == 1 else store.merge(updates)
    seq = store.append([store.Pending(document_id, update, user_id)]).seqs[0]
    if seq is None:
        return None
    transaction.on_commit(
        lambda: messages.announce(document_id, messages.document_update(seq, update))
    )
    return seq


def meta_of(doc: Doc) -> Map:
    """The shared map of document-wide settings; the title lives there."""
    return doc.get("meta", type=Map)


def title_of(meta: Map) -> str | None:
    """The title editors see."""
    value = meta.get("title")
    return value[:TITLE_MAX_LENGTH] if isinstance(value, str) else None


def set_title(doc: Doc, title: str) -> None:
    meta = meta_of(doc)
    if meta.get("title") != title:
        meta["title"] = title
