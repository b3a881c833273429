"""The export download: the document's current body as text, HTML, Markdown or Word."""

from __future__ import annotations

import re
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from documents import export
from documents.comments import footnotes
from documents.images.models import DocumentImage
from documents.models import Document
from documents.permissions import document_or_404
from documents.storage import crdt, server_edits, store

IMAGE_ID = re.compile(r"/images/([0-9a-f-]{36})/$")


@login_required
@require_GET
@never_cache
def document_export(request: HttpRequest, pk: UUID, fmt: str) -> HttpResponse:
    """GET /documents/<id>/export.<txt|html|md|docx>: the body as a download; any role may."""
    if fmt not in export.FORMATS:
        raise Http404("Unknown export format.")
    document, _ = document_or_404(request.user, pk)
    doc = crdt.doc_from_update(store.load(document.pk).update)
    # The shared title is what editors see, even before the column catches up.
    title = server_edits.title_of(server_edits.meta_of(doc)) or document.title
    # A downloaded file is opened away from the site: its images name the site,
    # and only this document's images are written (its readers may fetch them).
    images = export.Images(str(document.pk), origin=f"{request.scheme}://{request.get_host()}")
    # ?comments=1: the open comment threads as notes after the body (Markdown, HTML).
    threads = (
        footnotes.open_threads(document=document) if request.GET.get("comments") == "1" else []
    )
    content: str | bytes
    if fmt == "docx":
        # Embedded, not linked: the file is read away from the site.
        content = export.to_docx(
            doc,
            title=title,
            images=export.Images(str(document.pk)),
            image_bytes=lambda src: _image_bytes(document, src),
        )
    elif fmt == "txt":
        content = export.to_text(doc)
    elif fmt == "md":
        content = export.to_markdown(doc, images=images) + footnotes.markdown(threads)
    else:
        body = export.to_html(doc, images=images) + footnotes.html_section(threads)
        content = export.html_document(body, title=title)
    response = HttpResponse(content, content_type=export.FORMATS[fmt][1])
    disposition = content_disposition_header(True, export.download_filename(title, fmt))
    response["Content-Disposition"] = disposition or "attachment"
    return response


def _image_bytes(document: Document, src: str) -> bytes | None:
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
