"""A document's body as plain text, HTML or Markdown: pure functions, no Django, no I/O.

tree reads the pycrdt body once into an immutable model and holds what the formats
share; text, html and markdown each render that model one way. Callers use the
names below, so the split between modules stays an internal matter.
"""

from __future__ import annotations

from documents.export.docx import to_docx
from documents.export.html import html_document, to_html
from documents.export.markdown import to_markdown
from documents.export.render import Download, render
from documents.export.text import to_text
from documents.export.tree import (
    FORMATS,
    FRAGMENT,
    Images,
    Node,
    attributes_of,
    body_of,
    download_filename,
)

__all__ = [
    "FORMATS",
    "FRAGMENT",
    "Download",
    "Images",
    "Node",
    "attributes_of",
    "body_of",
    "download_filename",
    "html_document",
    "render",
    "to_docx",
    "to_html",
    "to_markdown",
    "to_text",
]
