"""The home's pages: the list with its views, search, sorting and pages; stars; the trash."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from documents import conf
from documents.accounts import services as accounts
from documents.accounts.redirects import next_url
from documents.identity import identity
from documents.library import copies, folders, selectors, services, trash
from documents.library.models import Folder
from documents.library.search import Hit, Segments, is_full_text
from documents.library.selectors import BadListing, Listing, Page
from documents.library.templates import TEMPLATES
from documents.models import Document
from documents.permissions import can_manage, can_write
from documents.web.api import document_json
from documents.web.json import api_login_required
from documents.web.selectors import documents_for, online_users_for, role_of


def _page_of(request: HttpRequest) -> tuple[Listing, Page]:
    listing = selectors.listing_from(request.GET, request.user)
    return listing, selectors.home_page(listing, request.user)


def _row_json(document: Document, online: list[dict[str, Any]], hit: Hit | None) -> dict[str, Any]:
    data = document_json(document, online)
    data["starred"] = bool(getattr(document, "starred", False))
    data["star_url"] = reverse("document-star", kwargs={"pk": document.pk})
    data["folder_id"] = document.folder_id
    data["duplicate_url"] = reverse("document-duplicate", kwargs={"pk": document.pk})
    data["move_url"] = (
        reverse("document-move", kwargs={"pk": document.pk}) if data["delete_url"] else None
    )
    data["title_parts"] = _parts(hit.title) if hit else None
    data["snippet"] = _parts(hit.snippet) if hit else None
    return data


def _parts(segments: Segments) -> list[dict[str, Any]]:
    return [{"text": text, "match": match} for text, match in segments]


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The documents home: a view (or folder) of documents, sorted, searched, one page."""
    try:
        listing, page = _page_of(request)
    except BadListing as bad:
        return render(request, "documents/list_error.html", {"error": str(bad)}, status=400)
    online = online_users_for([d.pk for d in page.documents])
    hits = {hit.document.pk: hit for hit in page.hits}
    list_url = reverse("document-list")
    folder_list = selectors.folders_of(request.user)
    rows = []
    for d in page.documents:
        role = role_of(d)
        rows.append(
            {
                "document": d,
                "role": role,
                "can_rename": can_write(role),
                "can_delete": can_manage(role),
                "online": online.get(d.pk, []),
                "hit": hits.get(d.pk),
            }
        )
    context = {
        "rows": rows,
        "listing": listing,
        "page": page,
        "heading": listing.folder.name
        if listing.folder
        else ("Documents" if listing.view == "all" else selectors.VIEWS[listing.view]),
        "sorts": {key: label for key, (label, _) in selectors.SORTS.items()},
        "folders": folder_list,
        "templates": TEMPLATES.values(),
        "folders_json": [{"id": f.pk, "name": f.name} for f in folder_list],
        "full_text": is_full_text(),
        "previous_url": list_url + listing.params(page=page.number - 1)
        if page.number > 1
        else None,
        "next_url": list_url + listing.params(page=page.number + 1) if page.has_next else None,
        "first_url": list_url + listing.params(page=1),
        "here": request.get_full_path(),
        "me": identity(request.user),
        "email_status": accounts.email_status(user=request.user),
        # What list.js compares the API's answers with: an unchanged page is not redrawn.
        "documents_json": [
            _row_json(d, online.get(d.pk, []), hits.get(d.pk)) for d in page.documents
        ],
    }
    return render(request, "documents/list.html", context)


@api_login_required
@require_GET
def home_api(request: HttpRequest) -> JsonResponse:
    """GET /api/documents/: the page of documents the home shows for the same parameters."""
    try:
        _, page = _page_of(request)
    except BadListing as bad:
        return JsonResponse({"error": str(bad)}, status=400)
    online = online_users_for([d.pk for d in page.documents])
    hits = {hit.document.pk: hit for hit in page.hits}
    return JsonResponse(
        {
            "documents": [
                _row_json(d, online.get(d.pk, []), hits.get(d.pk)) for d in page.documents
            ],
            "page": page.number,
            "has_next": page.has_next,
        }
    )


@login_required
@require_POST
def document_star(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Star (starred=1) or unstar (starred=0) a document the user can open."""
    document = get_object_or_404(documents_for(request.user), pk=pk)
    value = request.POST.get("starred", "")
    if value not in ("0", "1"):
        return HttpResponse("starred must be 0 or 1", status=400, content_type="text/plain")
    services.star_set(user=request.user, document=document, starred=value == "1")
    return redirect(next_url(request, reverse("document-list")))


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
        "folders": selectors.folders_of(request.user),
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


def _folder(request: HttpRequest, folder_id: int) -> Folder:
    return get_object_or_404(Folder, pk=folder_id, owner_id=request.user.pk)


@login_required
@require_POST
def folder_create(request: HttpRequest) -> HttpResponse:
    """A new folder; then show it."""
    try:
        folder = folders.folder_create(owner=request.user, name=request.POST.get("name", ""))
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
        return redirect(next_url(request, reverse("document-list")))
    return redirect(reverse("document-list") + f"?folder={folder.pk}")


@login_required
@require_POST
def folder_rename(request: HttpRequest, folder_id: int) -> HttpResponse:
    """Rename one of the user's folders."""
    folder = _folder(request, folder_id)
    try:
        folders.folder_rename(folder=folder, user=request.user, name=request.POST.get("name", ""))
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
    return redirect(reverse("document-list") + f"?folder={folder.pk}")


@login_required
@require_POST
def folder_delete(request: HttpRequest, folder_id: int) -> HttpResponse:
    """Delete a folder; its documents stay, at the top level."""
    folder = _folder(request, folder_id)
    name = folder.name
    folders.folder_delete(folder=folder, user=request.user)
    messages.success(request, f"Deleted the folder “{name}”; its documents are still here.")
    return redirect("document-list")


@login_required
@require_POST
def document_move(request: HttpRequest, pk: UUID) -> HttpResponse:
    """File a document in one of the owner's folders ("" for none)."""
    document = get_object_or_404(documents_for(request.user), pk=pk)
    if not can_manage(role_of(document)):
        raise PermissionDenied("Only the owner may file a document in a folder.")
    raw = request.POST.get("folder", "")
    folder = None
    if raw:
        folder_id = selectors.folder_id(raw)
        if folder_id is None:
            return HttpResponse("no such folder", status=400, content_type="text/plain")
        folder = _folder(request, folder_id)
    folders.document_move(document=document, user=request.user, folder=folder)
    where = f"“{folder.name}”" if folder else "no folder"
    messages.success(request, f"Moved “{document.title}” to {where}.")
    return redirect(next_url(request, reverse("document-list")))


@login_required
@require_POST
def document_duplicate(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Make a copy of a document one can open, owned by oneself, and open it."""
    document = get_object_or_404(documents_for(request.user), pk=pk)
    copy = copies.document_duplicate(document=document, user=request.user)
    messages.success(request, f"Made a copy of “{document.title}”.")
    return redirect("document-edit", pk=copy.pk)


@login_required
@require_POST
def document_from_template(request: HttpRequest, key: str) -> HttpResponse:
    """Start a new document from a built-in template, and open it."""
    if key not in TEMPLATES:
        raise Http404("No such template.")
    document = copies.document_from_template(owner=request.user, key=key)
    return redirect("document-edit", pk=document.pk)
