"""The import page: a Markdown, HTML or Word file becomes a new document of the user's,
or the content of an empty document they may edit (?into=<document id>)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from documents import conf
from documents.imports import services
from documents.models import Document
from documents.permissions import can_write, document_or_404
from documents.web import throttle

# Room for the multipart framing around the file itself.
MULTIPART_SLACK = 64 * 1024
ACCEPT = ".md,.markdown,.html,.htm,.docx"


def _page(
    request: HttpRequest, *, into: Document | None, error: str = "", status: int = 200
) -> HttpResponse:
    limit = int(conf.get("MAX_IMPORT_BYTES")) // (1024 * 1024)
    context = {"error": error, "accept": ACCEPT, "limit_mb": limit, "into": into}
    return render(request, "documents/import.html", context, status=status)


def _target(request: HttpRequest) -> Document | None:
    """The empty document to fill (?into=<id>), or None for a new one; 404 for strangers."""
    raw = request.POST.get("into") or request.GET.get("into")
    if not raw:
        return None
    try:
        document_id = UUID(raw)
    except ValueError:
        raise Http404("No such document.") from None
    document, role = document_or_404(request.user, document_id)
    if not can_write(role):
        raise PermissionDenied("Only the owner and editors may import into a document.")
    return document


@login_required
@require_http_methods(["GET", "POST"])
def document_import(request: HttpRequest) -> HttpResponse:
    """GET: the form; POST (multipart, field "file"): import it and open the new document."""
    into = _target(request)
    if request.method == "GET":
        return _page(request, into=into)
    limit = int(conf.get("MAX_IMPORT_BYTES"))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # Refused before the body is read, so a huge upload is never buffered.
    if declared > limit + MULTIPART_SLACK:
        message = f"The file is larger than {limit // (1024 * 1024)} MB."
        return _page(request, into=into, error=message, status=413)
    counter = throttle.hit(
        scope="import",
        subject=str(request.user.pk),
        limit=int(conf.get("IMPORTS_PER_HOUR")),
        window=3600,
    )
    if counter.exceeded:
        wait = throttle.wait_message(counter.retry_after)
        message = f"Too many imports. Try again in {wait}."
        response = _page(request, into=into, error=message, status=429)
        response["Retry-After"] = str(counter.retry_after)
        return response
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, into=into, error="Choose a file to import.", status=400)
    try:
        if into is None:
            document = services.document_import(
                owner=request.user, filename=upload.name or "", data=upload.read()
            )
        else:
            document = services.document_import_into(
                document=into, user=request.user, filename=upload.name or "", data=upload.read()
            )
    except services.ImportRefused as exc:
        return _page(request, into=into, error=str(exc), status=exc.status)
    messages.success(request, f"Imported {upload.name}.")
    return redirect("document-edit", pk=document.pk)
