"""The version history page and its JSON API.

Every view resolves the document and the user's role the same way: unknown
documents and strangers get 404 (a stranger cannot tell the two apart), any
role may read, and only owners and editors may save or restore a version.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from documents import export
from documents.history import services as history
from documents.identity import identity
from documents.models import Document, Snapshot
from documents.permissions import can_write, document_or_404
from documents.web.json import api_errors, api_login_required, request_body


def _snapshot_of(document: Document, snapshot_id: int) -> Snapshot:
    snapshot = Snapshot.objects.filter(document_id=document.pk, pk=snapshot_id).first()
    if snapshot is None:
        raise Http404("No such version.")
    return snapshot


def _version_name(snapshot: Snapshot) -> str:
    return snapshot.label or "Automatic save"


# The history page -----------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def history_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The versions with a preview of one (GET); save the current body as a version (POST)."""
    document, role = document_or_404(request.user, pk)
    if request.method == "POST":
        try:
            # The same parser as the API, so a NUL in the label is refused here too.
            label = request_body(request).get("label", "")
            snapshot = history.snapshot_create(
                document=document, user=request.user, label=label if isinstance(label, str) else ""
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("document-history", pk=document.pk)
        except (ValueError, history.HistoryError) as exc:
            messages.error(request, str(exc))
            return redirect("document-history", pk=document.pk)
        messages.success(request, f"Saved the current version as {history.quoted(snapshot.label)}.")
        page = reverse("document-history", kwargs={"pk": document.pk})
        return redirect(f"{page}?version={snapshot.pk}")

    versions = list(history.snapshot_list(document=document))
    selected = versions[0] if versions else None
    if "version" in request.GET:
        try:
            wanted = int(request.GET["version"])
        except ValueError:
            raise Http404("No such version.") from None
        selected = next((v for v in versions if v.pk == wanted), None)
        if selected is None:
            raise Http404("No such version.")
    preview = ""
    if selected is not None:
        # export.to_html escapes every piece of text and drops unsafe links.
        snapshot = _snapshot_of(document, selected.pk)  # the list leaves the content out
        preview = mark_safe(history.snapshot_preview(snapshot=snapshot))
    context = {
        "document": document,
        "role": role,
        "can_edit": can_write(role),
        "versions": versions,
        "selected": selected,
        "preview": preview,
    }
    return render(request, "documents/history.html", context)


@login_required
@require_POST
def history_restore(request: HttpRequest, pk: UUID, snapshot_id: int) -> HttpResponse:
    """Restore a version from the history page, then return to the editor."""
    document, role = document_or_404(request.user, pk)
    if not can_write(role):
        raise PermissionDenied("Only the owner and editors may restore a version.")
    snapshot = _snapshot_of(document, snapshot_id)
    try:
        restored = history.snapshot_restore(document=document, snapshot=snapshot, user=request.user)
    except history.HistoryError as exc:
        messages.error(request, str(exc))
        return redirect("document-history", pk=document.pk)
    name = history.quoted(_version_name(snapshot))
    if restored.backup is None:
        messages.info(request, f"{name} is already the current content.")
    else:
        backup = history.quoted(restored.backup.label)
        messages.success(request, f"Restored {name}. The previous content is saved as {backup}.")
    return redirect("document-edit", pk=document.pk)


# JSON API -------------------------------------------------------------------


def _serialize(document: Document, snapshot: Snapshot) -> dict[str, Any]:
    kwargs = {"pk": document.pk, "snapshot_id": snapshot.pk}
    size = getattr(snapshot, "size", None)
    return {
        "id": snapshot.pk,
        "seq": snapshot.seq,
        "label": snapshot.label,
        "automatic": not snapshot.label,
        "created_at": snapshot.created_at.isoformat(),
        "created_by": identity(snapshot.created_by) if snapshot.created_by else None,
        "size": size if size is not None else len(snapshot.data),
        "url": reverse("api-document-history-detail", kwargs=kwargs),
        "restore_url": reverse("api-document-history-restore", kwargs=kwargs),
    }


def _label_from(request: HttpRequest) -> str:
    """The label from a JSON body or a form; ValidationError when there is no usable one."""
    label = request_body(request).get("label", "")
    if not isinstance(label, str):
        raise ValidationError("Send a JSON object with a string label.")
    return label


@api_login_required
@api_errors
@require_http_methods(["GET", "POST"])
def api_history(request: HttpRequest, pk: UUID) -> JsonResponse:
    """GET: the versions, newest first. POST {"label": ...}: save the current body as one."""
    document, role = document_or_404(request.user, pk)
    if request.method == "GET":
        versions = [_serialize(document, s) for s in history.snapshot_list(document=document)]
        return JsonResponse({"versions": versions, "can_edit": can_write(role)})
    if not can_write(role):
        return JsonResponse({"error": "only the owner and editors may save a version"}, status=403)
    label = _label_from(request)  # api_errors answers its ValidationError with a 400
    try:
        snapshot = history.snapshot_create(document=document, user=request.user, label=label)
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except history.VersionRateLimited as exc:
        return JsonResponse({"error": str(exc)}, status=429)
    except history.HistoryError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse({"version": _serialize(document, snapshot)}, status=201)


@api_login_required
@api_errors
@require_GET
def api_history_detail(request: HttpRequest, pk: UUID, snapshot_id: int) -> JsonResponse:
    """GET: one version with its body as HTML and as text; any role may."""
    document, _ = document_or_404(request.user, pk)
    snapshot = _snapshot_of(document, snapshot_id)
    content = history.snapshot_content(snapshot=snapshot)
    return JsonResponse(
        {
            "version": _serialize(document, snapshot),
            "html": export.to_html(content, images=export.Images(str(document.pk))),
            "text": export.to_text(content),
        }
    )


@api_login_required
@api_errors
@require_POST
def api_history_restore(request: HttpRequest, pk: UUID, snapshot_id: int) -> JsonResponse:
    """POST: make the body equal to this version with a new forward update; owners and editors."""
    document, role = document_or_404(request.user, pk)
    if not can_write(role):
        return JsonResponse({"error": "only the owner and editors may restore"}, status=403)
    snapshot = _snapshot_of(document, snapshot_id)
    try:
        restored = history.snapshot_restore(document=document, snapshot=snapshot, user=request.user)
    except history.HistoryError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse(
        {
            "restored": _serialize(document, snapshot),
            "backup": _serialize(document, restored.backup) if restored.backup else None,
            "seq": restored.seq,
            "changed": restored.backup is not None,
        }
    )
