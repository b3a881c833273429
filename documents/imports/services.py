"""Importing a file as a document: read it, build its body, and save it all in one transaction.

A file that cannot be read, is too large or holds too much is refused with an
ImportRefused carrying the HTTP status to answer with; nothing is left behind
(no document, no image rows, no image bytes), because the reading happens
before anything is written and the writing is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from pycrdt import XmlFragment

from documents import conf, export
from documents.export.tree import Element, plain_text
from documents.images import services as images
from documents.images.models import DocumentImage
from documents.imports import builder, html, markdown
from documents.models import Document
from documents.permissions import can_write, role_for
from documents.services import document_create, normalize_title
from documents.storage import server_edits, store

# File name extension -> reader format.
EXTENSIONS = {
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
}
# Imported images wider than this are shown at this width (their own size is kept).
MAX_DISPLAY_WIDTH = 800


class ImportRefused(ValueError):
    """The file cannot be imported; `status` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class EmbeddedImage:
    """An image that came inside the file (a .docx), stored once the document exists."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Read:
    """A file read into nodes, with the images it carries keyed by their placeholder src."""

    nodes: list[export.Node]
    embedded: dict[str, EmbeddedImage]


def format_of(filename: str) -> str:
    """The reader for the file name's extension; ImportRefused (415) for any other."""
    suffix = PurePosixPath(PureWindowsPath(filename).name).suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        raise ImportRefused(
            "Only Markdown (.md), HTML (.html) and Word (.docx) files can be imported.", 415
        )
    return fmt


def title_from_filename(filename: str) -> str:
    stem = PurePosixPath(PureWindowsPath(filename).name).stem
    return normalize_title(stem.replace("_", " "))


def read_file(*, filename: str, data: bytes) -> Read:
    """The file as nodes, before anything is saved; ImportRefused when it cannot be read."""
    fmt = format_of(filename)
    limit = int(conf.get("MAX_IMPORT_BYTES"))
    if len(data) > limit:
        raise ImportRefused(f"The file is larger than {limit // (1024 * 1024)} MB.", 413)
    if not data.strip():
        raise ImportRefused("The file is empty.", 422)
    if fmt == "docx":
        from documents.imports import docx

        try:
            converted, embedded = docx.to_html(data)
        except docx.NotADocx as exc:
            raise ImportRefused(str(exc), 415) from None
        return Read(html.read(converted), {k: EmbeddedImage(v) for k, v in embedded.items()})
    text = _decode(data)
    try:
        nodes = markdown.read(text) if fmt == "md" else html.read(text)
    except (RecursionError, markdown.TooDeep):
        raise ImportRefused("The file is nested too deeply.", 422) from None
    return Read(nodes, {})


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused("The file is not UTF-8 text.", 400) from None
    # NUL has no place in a document (and PostgreSQL refuses it in titles).
    return text.replace("\x00", "")


@transaction.atomic
def document_import(*, owner: Any, filename: str, data: bytes) -> Document:
    """A new document owned by `owner` holding the file's content; titled by its first heading."""
    read = read_file(filename=filename, data=data)
    document = document_create(owner=owner, title=title_from_filename(filename))
    _fill(document=document, user=owner, read=read, fallback_title=document.title)
    return document


@transaction.atomic
def document_import_into(*, document: Document, user: Any, filename: str, data: bytes) -> Document:
    """Fill an empty document with the file's content; owners and editors may."""
    if not can_write(role_for(user, document)):
        raise PermissionDenied("Only the owner and editors may import into a document.")
    read = read_file(filename=filename, data=data)
    # Locked so no editor's first keystroke slips in between the check and the import.
    Document.objects.select_for_update().filter(pk=document.pk).first()
    if not _is_empty(export.body_of(store.load(document.pk).update)):
        raise ImportRefused("The document is not empty: import into a new document instead.", 409)
    _fill(document=document, user=user, read=read, fallback_title=document.title)
    return document


def _fill(*, document: Document, user: Any, read: Read, fallback_title: str) -> None:
    """Store the file's images, build the body, and write it as one update with the title."""
    stored: list[DocumentImage] = []
    try:
        body = builder.normalize(
            read.nodes,
            resolve_image=_image_resolver(document, user, read.embedded, stored),
            max_nodes=int(conf.get("MAX_IMPORT_NODES")),
        )
        if not body:
            raise ImportRefused("The file has no content the editor can show.", 422)
        title = normalize_title(builder.title_of(body) or fallback_title)
        if title != document.title:
            document.title = title
            document.save(update_fields=["title", "updated_at"])

        def mutate(doc: Any) -> None:
            # An editor that opened the document wrote its one empty paragraph
            # (the schema's doc is block+): the import takes its place.
            fragment = doc.get(export.FRAGMENT, type=XmlFragment)
            with doc.transaction():
                if len(fragment.children):
                    del fragment.children[0 : len(fragment.children)]
            builder.write(doc, body)
            server_edits.set_title(doc, title)

        server_edits.edit_document(document_id=document.pk, user_id=user.pk, mutate=mutate)
    except builder.TooLarge as exc:
        images.images_discard(images=stored)
        raise ImportRefused(str(exc), 413) from None
    except BaseException:
        # The rows roll back with the caller's transaction; the bytes are not
        # in it, so they are removed here.
        images.images_discard(images=stored)
        raise


def _is_empty(body: tuple[export.Node, ...]) -> bool:
    """No content but empty paragraphs, as a document just opened in the editor has."""
    return all(
        isinstance(node, Element)
        and node.tag == "paragraph"
        and not plain_text(node.children).strip()
        and not any(isinstance(child, Element) for child in node.children)
        for node in body
    )


def _image_resolver(
    document: Document, user: Any, embedded: dict[str, EmbeddedImage], stored: list[DocumentImage]
) -> Callable[[str], builder.ImageRef | None]:
    def resolve(src: str) -> builder.ImageRef | None:
        image = embedded.get(src)
        if image is None:
            return None  # not one the file brought: another site's, another document's
        try:
            created = images.image_create(
                document=document, user=user, data=image.data, check_role=False
            )
        except (images.ImageTooLarge, images.NotAnImage):
            return None  # a format browsers cannot show (EMF, TIFF, ...): left out
        stored.append(created)
        width, height = created.width, created.height
        if width > MAX_DISPLAY_WIDTH:
            width, height = MAX_DISPLAY_WIDTH, max(1, round(height * MAX_DISPLAY_WIDTH / width))
        return builder.ImageRef(created.src, width, height)

    return resolve
