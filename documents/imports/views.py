"""The import page: a Markdown, HTML or Word file becomes a new document of the user's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from documents import conf
from documents.imports import services
from documents.web import throttle

# Room for the multipart framing around the file itself.
MULTIPART_SLACK = 64 * 1024
ACCEPT = ".md,.markdown,.html,.htm,.docx"


def _page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    limit = int(conf.get("MAX_IMPORT_BYTES")) // (1024 * 1024)
    context = {"error": error, "accept": ACCEPT, "limit_mb": limit}
    return render(request, "documents/import.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def document_import(request: HttpRequest) -> HttpResponse:
    """GET: the form; POST (multipart, field "file"): import it and open the new document."""
    if request.method == "GET":
        return _page(request)
    limit = int(conf.get("MAX_IMPORT_BYTES"))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # Refused before the body is read, so a huge upload is never buffered.
    if declared > limit + MULTIPART_SLACK:
        return _page(
            request, error=f"The file is larger than {limit // (1024 * 1024)} MB.", status=413
        )
    counter = throttle.hit(
        scope="import",
        subject=str(request.user.pk),
        limit=int(conf.get("IMPORTS_PER_HOUR")),
        window=3600,
    )
    if counter.exceeded:
        wait = throttle.wait_message(counter.retry_after)
        response = _page(request, error=f"Too many imports. Try again in {wait}.", status=429)
        response["Retry-After"] = str(counter.retry_after)
        return response
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, error="Choose a file to import.", status=400)
    try:
        document = services.document_import(
            owner=request.user, filename=upload.name or "", data=upload.read()
        )
    except services.ImportRefused as exc:
        return _page(request, error=str(exc), status=exc.status)
    messages.success(request, f"Imported {upload.name}.")
    return redirect("document-edit", pk=document.pk)
