"""Pages: the editor, creating, renaming and deleting (the list is documents/library/views.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from documents import conf, services
from documents.accounts.redirects import next_url
from documents.identity import identity
from documents.library import services as library
from documents.library import trash
from documents.models import TITLE_MAX_LENGTH, Document
from documents.permissions import can_comment, can_manage, can_write
from documents.realtime.close_codes import FINAL, CloseCode
from documents.web.forms import DocumentTitleForm
from documents.web.selectors import documents_for, role_of

WS_PATH = "/ws/documents"


def _visible_document(request: HttpRequest, pk: UUID) -> Document:
    """The document with the user's role as `my_role`; 404 for strangers and unknown ids."""
    return get_object_or_404(documents_for(request.user), pk=pk)


@login_required
@require_POST
def document_create(request: HttpRequest) -> HttpResponse:
    """Create a document and open it."""
    form = DocumentTitleForm(request.POST)
    title = form.cleaned_data["title"] if form.is_valid() else ""
    document = services.document_create(owner=request.user, title=title)
    return redirect("document-edit", pk=document.pk)


@login_required
@require_GET
def document_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The collaborative editor."""
    document = _visible_document(request, pk)
    role = role_of(document)
    me = identity(request.user)
    library.recent_open_record(user=request.user, document=document)
    config: dict[str, Any] = {
        "documentId": str(document.pk),
        "title": document.title,
        "user": me,
        "role": role.value,
        "canEdit": can_write(role),
        "canComment": can_comment(role),
        "commentsUrl": reverse("api-comments", kwargs={"pk": document.pk}),
        "eventsPath": "/ws/events/",
        "wsPath": WS_PATH,
        "loginUrl": reverse("login"),
        "apiUrl": reverse("api-document-detail", kwargs={"pk": document.pk}),
        "titleMaxLength": TITLE_MAX_LENGTH,
        "closeCodes": {code.name: int(code) for code in CloseCode},
        "finalCloseCodes": sorted(int(code) for code in FINAL),
        # For the page's messages; Daphne cuts a frame over its limit with no close
        # code, so the page also checks a frame's size before sending it.
        "maxFrameBytes": conf.get("MAX_FRAME_BYTES"),
        "maxDocumentBytes": conf.get("MAX_DOCUMENT_BYTES"),
        "testHooks": settings.EDITOR_TEST_HOOKS,
    }
    context = {
        "document": document,
        "role": role,
        "can_edit": can_write(role),
        "can_manage": can_manage(role),
        "me": me,
        "config": config,
    }
    return render(request, "documents/editor.html", context)


@login_required
@require_POST
def document_rename(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Rename from the list page (owners and editors)."""
    document = _visible_document(request, pk)
    form = DocumentTitleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"A title can be at most {TITLE_MAX_LENGTH} characters.")
    else:
        services.document_rename(
            document=document, title=form.cleaned_data["title"], user=request.user
        )
        messages.success(request, f"Renamed to “{document.title}”.")
    return redirect(next_url(request, reverse("document-list")))


@login_required
@require_http_methods(["GET", "POST"])
def document_delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Ask for confirmation (GET), then move to the trash (POST); only the owner may."""
    document = _visible_document(request, pk)
    if not can_manage(role_of(document)):
        raise PermissionDenied("Only the owner may delete a document.")
    retention_days = conf.get("TRASH_RETENTION_DAYS")
    if request.method == "POST":
        title = document.title
        trash.document_trash(document=document, user=request.user)
        messages.success(
            request, f"Moved “{title}” to the trash. You can restore it for {retention_days} days."
        )
        return redirect("document-list")
    return render(
        request,
        "documents/confirm_delete.html",
        {"document": document, "retention_days": retention_days},
    )
