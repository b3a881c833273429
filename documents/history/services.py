"""Version history: snapshots listed, previewed, saved by name and restored.

A restore never rewinds the log. It writes one new forward update that makes
the body equal to the chosen version, so every open editor converges on it like
on any other edit, and it first saves the current body as a named version, so
a restore is undone by restoring that one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.utils import timezone
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from documents import conf, export
from documents.models import Document, Snapshot
from documents.permissions import can_write, role_for
from documents.storage import crdt, server_edits, store
from documents.web import throttle

LABEL_MAX_LENGTH = Snapshot._meta.get_field("label").max_length or 200
# compact() gives up when another process compacted between its read and its
# write; the next attempt starts from that newer snapshot.
CREATE_ATTEMPTS = 3


class HistoryError(RuntimeError):
    """A version could not be saved or restored; nothing was changed."""


class VersionLimitReached(HistoryError):
    """The document has MAX_NAMED_VERSIONS named versions already."""


class VersionRateLimited(HistoryError):
    """The user saved NAMED_VERSIONS_PER_MINUTE versions in the last minute."""


@dataclass(frozen=True, slots=True)
class Restored:
    backup: Snapshot | None  # the body as it was before, saved as a named version
    seq: int | None  # the restoring update; None when the body already matched


def normalize_label(label: str) -> str:
    """A version name as stored: one line of printable text, trimmed, within the column's length."""
    # Controls (NUL above all, which PostgreSQL refuses) and unpaired surrogates
    # (which UTF-8 cannot hold) go, whichever way the label arrived.
    printable = "".join(
        char for char in label if unicodedata.category(char) not in ("Cc", "Cs") or char.isspace()
    )
    return " ".join(printable.split())[:LABEL_MAX_LENGTH].strip()


def snapshot_list(*, document: Document) -> QuerySet[Snapshot]:
    """The document's versions, newest first, with their size but not their content."""
    return (
        Snapshot.objects.filter(document_id=document.pk)
        .defer("data")
        .annotate(size=Length("data"))
        .select_related("created_by", "created_by__profile")
        .order_by("-seq", "-id")
    )


def snapshot_create(*, document: Document, user: Any, label: str) -> Snapshot:
    """Save the current body as a named version; owners and editors may."""
    _require_write(document=document, user=user)
    label = normalize_label(label)
    if not label:
        raise ValueError("A version needs a name.")
    # Each named version is a full copy kept for good: bounded per user and
    # per document.
    counter = throttle.hit(
        scope="named-version",
        subject=str(user.pk),
        limit=int(conf.get("NAMED_VERSIONS_PER_MINUTE")),
        window=60,
    )
    if counter.exceeded:
        raise VersionRateLimited("You are saving versions too quickly; try again in a minute.")
    try:
        with transaction.atomic():
            # Holding the row makes the count and the save one step, so two
            # saves at once cannot both take the last place.
            if (
                Document.objects.select_for_update().filter(pk=document.pk).only("id").first()
                is None
            ):
                raise Document.DoesNotExist(f"document {document.pk} is gone")
            limit = int(conf.get("MAX_NAMED_VERSIONS"))
            if Snapshot.objects.filter(document_id=document.pk).exclude(label="").count() >= limit:
                raise VersionLimitReached(
                    f"This document already has {limit} named versions, the most it may keep."
                )
            for _ in range(CREATE_ATTEMPTS):
                # With a label, compact() writes a snapshot even when the log is empty,
                # so a version can be named right after an earlier one.
                snapshot = store.compact(document.pk, label=label, user_id=user.pk)
                if snapshot is not None:
                    return snapshot
            raise HistoryError("The document is busy; try again.")
    except Exception:
        throttle.release(counter)  # nothing was saved: it does not count
        raise


def snapshot_content(*, snapshot: Snapshot) -> Doc:
    """The document as it was at this version."""
    return crdt.doc_from_update(bytes(snapshot.data))


def snapshot_preview(*, snapshot: Snapshot) -> str:
    """The version's body as escaped HTML."""
    # Only images of this document show, as in the editor.
    images = export.Images(str(snapshot.document_id))
    return export.to_html(snapshot_content(snapshot=snapshot), images=images)


def snapshot_restore(*, document: Document, snapshot: Snapshot, user: Any) -> Restored:
    """Make the body equal to `snapshot` with a new forward update; owners and editors may."""
    if snapshot.document_id != document.pk:
        raise ValueError("The version belongs to another document.")
    _require_write(document=document, user=user)
    # Read the version before compacting: its retention policy may prune it.
    target = snapshot_content(snapshot=snapshot)
    target_body = export.body_of(target)
    with transaction.atomic():
        # Holding the row keeps editors' updates out between the backup and the
        # restore, so the backup is exactly what the restore replaces.
        if Document.objects.select_for_update().filter(pk=document.pk).only("id").first() is None:
            raise Document.DoesNotExist(f"document {document.pk} is gone")
        if export.body_of(store.load(document.pk).update) == target_body:
            return Restored(backup=None, seq=None)
        backup = store.compact(document.pk, label=_backup_label(snapshot), user_id=user.pk)
        if backup is None:
            raise HistoryError("The document is busy; try again.")
        seq = server_edits.edit_document(
            document_id=document.pk,
            user_id=user.pk,
            mutate=lambda doc: replace_body(doc, target),
        )
    return Restored(backup=backup, seq=seq)


def replace_body(doc: Doc, source: Doc) -> None:
    """Replace doc's body with a deep copy of source's, in one transaction."""
    body = doc.get(export.FRAGMENT, type=XmlFragment)
    source_body = source.get(export.FRAGMENT, type=XmlFragment)
    with doc.transaction():
        del body.children[0 : len(body.children)]
        for child in source_body.children:
            _copy_into(body, child)


def _copy_into(parent: XmlFragment | XmlElement, node: XmlFragment | XmlElement | XmlText) -> None:
    # Shared types live in one document; copying means re-creating each node.
    if isinstance(node, XmlText):
        text = parent.children.append(XmlText())
        for value, attrs in node.diff():
            if isinstance(value, str):
                text.insert(len(text), value, attrs)
            elif isinstance(value, dict | list | int | float | bool):
                # Plain embedded values copy; an embedded shared type cannot
                # move between documents, and y-prosemirror never writes one.
                text.insert_embed(len(text), value, attrs)
    elif isinstance(node, XmlElement):
        element = parent.children.append(
            XmlElement(node.tag or "", export.attributes_of(node).items())
        )
        for child in node.children:
            _copy_into(element, child)
    else:
        for child in node.children:
            _copy_into(parent, child)


# Quotation marks, named: ruff (RUF001) takes the single ones for backticks.
DOUBLE = ("\N{LEFT DOUBLE QUOTATION MARK}", "\N{RIGHT DOUBLE QUOTATION MARK}")
SINGLE = ("\N{LEFT SINGLE QUOTATION MARK}", "\N{RIGHT SINGLE QUOTATION MARK}")


def quoted(text: str) -> str:
    """Text in quotation marks that alternate with the ones inside it, as in print."""
    # Opening marks only: a closing single one is mostly an apostrophe ("Bob's notes").
    first = next((char for char in text if char in (DOUBLE[0], SINGLE[0], '"')), None)
    opening, closing = SINGLE if first in (DOUBLE[0], '"') else DOUBLE
    return f"{opening}{text}{closing}"


def _backup_label(snapshot: Snapshot) -> str:
    if snapshot.label:
        name = quoted(snapshot.label)
    else:
        name = f"the version of {timezone.localtime(snapshot.created_at):%Y-%m-%d %H:%M}"
    return normalize_label(f"Before restoring {name}")


def _require_write(*, document: Document, user: Any) -> None:
    if not can_write(role_for(user, document)):
        raise PermissionDenied("Only the owner and editors may change the history.")
