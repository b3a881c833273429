"""The home's pages: the trash (and, in later modules, search and the views of the list)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from documents import conf
from documents.identity import identity
from documents.library import trash
from documents.models import Document


@login_required
@require_GET
def trash_list(request: HttpRequest) -> HttpResponse:
    """The owner's trashed documents, with when each is deleted for good."""
    rows = [
        {"document": d, "purge_at": trash.purge_due(d)} for d in trash.trash_of(request.user)[:500]
    ]
    context = {
        "rows": rows,
        "me": identity(request.user),
        "retention_days": conf.get("TRASH_RETENTION_DAYS"),
    }
    return render(request, "documents/trash.html", context)


@login_required
@require_POST
def trash_restore(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Bring a document back from the trash; 404 unless it is in the user's own trash."""
    try:
        document = trash.document_restore(document_id=pk, user=request.user)
    except Document.DoesNotExist:
        raise Http404("No such document in your trash.") from None
    messages.success(request, f"Restored “{document.title}”.")
    return redirect("document-trash")


@login_required
@require_POST
def trash_delete_forever(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Delete a document from the trash now, without waiting for the purge."""
    try:
        title = trash.document_delete_forever(document_id=pk, user=request.user)
    except Document.DoesNotExist:
        raise Http404("No such document in your trash.") from None
    messages.success(request, f"Deleted “{title}” for good.")
    return redirect("document-trash")
