"""The export download: the document's current body as text, HTML, Markdown or Word."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from documents import export
from documents.export import downloads
from documents.permissions import document_or_404
from documents.storage import crdt, server_edits, store


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
    # A downloaded file is opened away from the site: its images name the site.
    download = downloads.download_of(
        document,
        doc,
        title=title,
        origin=f"{request.scheme}://{request.get_host()}",
        comments=request.GET.get("comments") == "1",  # the open threads as notes
    )
    content = export.render(doc, fmt, download)
    response = HttpResponse(content, content_type=export.FORMATS[fmt][1])
    disposition = content_disposition_header(True, export.download_filename(title, fmt))
    response["Content-Disposition"] = disposition or "attachment"
    return response
