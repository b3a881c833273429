"""Edits the server makes to a document's content (a rename, a restore), written
like any editor's: one Yjs update appended to the log, then announced to the
document's group once the transaction commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from pycrdt import Doc, Map

from documents.storage import store

TITLE_MAX_LENGTH = 200


def edit_document(
    *, document_id: UUID, user_id: int | None, mutate: Callable[[Doc], None]
) -> int | None:
    """Apply `mutate` to the current content and persist the change; its sequence number."""
    loaded = store.load(document_id)
    doc: Doc[Any] = Doc()
    if loaded.update != store.EMPTY_UPDATE:
        doc.apply_update(loaded.update)
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
    transaction.on_commit(lambda: announce(document_id, seq, update))
    return seq


def announce(document_id: UUID, seq: int, update: bytes) -> None:
    """Tell every server process with the document open about a committed update."""
    message: dict[str, Any] = {"type": "document.update", "seq": seq, "update": update}
    announce_event(f"document.{document_id.hex}", message)


def announce_event(group: str, message: dict[str, Any]) -> None:
    """Send a typed event to a document's group from sync code (views, services)."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


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
