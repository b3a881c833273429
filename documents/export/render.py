"""One document body in any export format: the one place a format is dispatched.

Every caller (the download view, `manage.py export_document`) renders through
`render`, so a format added to FORMATS and RENDERERS is offered everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycrdt import Doc

from documents.export.html import html_document, to_html
from documents.export.markdown import to_markdown
from documents.export.text import to_text

RENDERERS: dict[str, Callable[[Doc[Any], str], str]] = {
    "txt": lambda doc, title: to_text(doc),
    "html": lambda doc, title: html_document(to_html(doc), title=title),
    "md": lambda doc, title: to_markdown(doc),
}


def render(doc: Doc[Any], fmt: str, *, title: str) -> str:
    """The body of `doc` in format `fmt` (a key of FORMATS); `title` heads an HTML page."""
    return RENDERERS[fmt](doc, title)
