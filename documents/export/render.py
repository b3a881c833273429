"""One document body in any export format: the one place a format is dispatched.

Every caller (the download view, `manage.py export_document`) renders through
`render`, so a format added to FORMATS and RENDERERS is offered everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc

from documents.export.docx import ImageBytes, to_docx
from documents.export.html import html_document, to_html
from documents.export.markdown import to_markdown
from documents.export.text import to_text
from documents.export.tree import Images, NotePlaces


@dataclass(frozen=True, slots=True)
class Download:
    """What a file needs beside the body: its title, which images it may show (and
    the site they are named by), their bytes for formats that embed them, and
    notes to append (the comment threads, already rendered) with the places of
    their markers in the body (Markdown and HTML)."""

    title: str
    images: Images
    image_bytes: ImageBytes = lambda src: None
    notes_markdown: str = ""
    notes_html: str = ""
    note_places: NotePlaces = field(default_factory=dict)


def _docx(doc: Doc[Any], download: Download) -> bytes:
    # Embedded, not linked: the file is read away from the site.
    embedded = Images(download.images.document_id)
    return to_docx(doc, title=download.title, images=embedded, image_bytes=download.image_bytes)


RENDERERS: dict[str, Callable[[Doc[Any], Download], str | bytes]] = {
    "txt": lambda doc, d: to_text(doc),
    "html": lambda doc, d: html_document(
        to_html(doc, images=d.images, notes=d.note_places) + d.notes_html, title=d.title
    ),
    "md": lambda doc, d: to_markdown(doc, images=d.images, notes=d.note_places) + d.notes_markdown,
    "docx": _docx,
}


def render(doc: Doc[Any], fmt: str, download: Download) -> str | bytes:
    """The body of `doc` in format `fmt` (a key of FORMATS): text, or bytes for .docx."""
    return RENDERERS[fmt](doc, download)
