"""New documents from old ones: a copy of a document, or one started from a template.

Either way the content is written as the new document's first update, like
any editor's (the log, not a side door), and the copy's history starts there:
versions of the original stay with the original.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from pycrdt import Doc

from documents.export.text import to_text
from documents.library import search
from documents.library.templates import TEMPLATES, fill
from documents.models import TITLE_MAX_LENGTH, Document
from documents.permissions import role_for
from documents.services import normalize_title
from documents.storage import crdt, server_edits, store

COPY_PREFIX = "Copy of "


def _create_with(*, owner: Any, title: str, doc: Doc) -> Document:
    """A new document of `owner` whose content is `doc`, with `title` in it too."""
    title = normalize_title(title)
    server_edits.set_title(doc, title)
    document = Document.objects.create(owner=owner, title=title)
    update = doc.get_update()
    store.append([store.Pending(document.pk, update, owner.pk)])
    search.text_save(document_id=document.pk, body=to_text(doc), title=title)
    return document


@transaction.atomic
def document_duplicate(*, document: Document, user: Any) -> Document:
    """A copy of the document's current content, owned by the user; anyone who can open it may."""
    if role_for(user, document) is None:
        raise PermissionDenied("No such document.")
    doc = crdt.doc_from_update(store.load(document.pk).update)
    title = (COPY_PREFIX + document.title)[:TITLE_MAX_LENGTH]
    return _create_with(owner=user, title=title, doc=doc)


@transaction.atomic
def document_from_template(*, owner: Any, key: str) -> Document:
    """A new document of the owner's, started from a built-in template; KeyError if unknown."""
    template = TEMPLATES[key]
    doc: Doc = Doc()
    fill(doc, template)
    return _create_with(owner=owner, title=template.title, doc=doc)
