"""The Download a stored document is exported with: its own images and, when asked,
its open comment threads as notes. Shared by the download view and the command."""

from __future__ import annotations

import re
from typing import Any

from pycrdt import Doc

from documents.comments import footnotes
from documents.export.render import Download
from documents.export.tree import Images
from documents.images.models import DocumentImage
from documents.models import Document

IMAGE_ID = re.compile(r"/images/([0-9a-f-]{36})/$")


def download_of(
    document: Document,
    doc: Doc[Any],
    *,
    title: str,
    origin: str = "",
    comments: bool = False,
) -> Download:
    """The Download of `doc`, the document's current state.

    `origin` ("https://host") names the site in a file read away from it; ""
    keeps paths. With `comments`, the open threads are notes, their markers
    placed in the body where each thread's text ends (found in `doc`).
    """
    notes = footnotes.notes_for(doc, footnotes.open_threads(document=document) if comments else [])
    return Download(
        title=title,
        # Only this document's images are written: its readers may fetch them.
        images=Images(str(document.pk), origin=origin),
        image_bytes=lambda src: image_bytes(document, src),
        notes_markdown=footnotes.markdown(notes),
        notes_html=footnotes.html_section(notes),
        note_places=notes.places,
    )


def image_bytes(document: Document, src: str) -> bytes | None:
    """The bytes of one of the document's images, by the src the body names it with."""
    match = IMAGE_ID.search(src)
    if match is None:
        return None
    image = DocumentImage.objects.filter(document_id=document.pk, pk=match.group(1)).first()
    if image is None:
        return None
    try:
        with image.file.open("rb") as stream:
            return bytes(stream.read())
    except OSError:
        return None  # the bytes are gone from the storage: the file goes without them
