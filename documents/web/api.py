"""JSON endpoints: the documents a user can see, with their role and who is online."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from documents.identity import identity
from documents.models import Document
from documents.permissions import can_manage, can_write
from documents.templatetags.documents_tags import edited_ago
from documents.web.json import api_login_required
from documents.web.selectors import documents_for, online_users_for, role_of


def document_json(document: Document, online: list[dict[str, Any]]) -> dict[str, Any]:
    """One document as the API and the list page's script see it."""
    role = role_of(document)
    pk = {"pk": document.pk}
    return {
        "id": str(document.pk),
        "title": document.title,
        "role": role.value,
        "role_label": role.label,
        "can_edit": can_write(role),
        "owner": identity(document.owner),
        "created_at": document.created_at.isoformat(),
        "updated_at": document.updated_at.isoformat(),
        # As the list page words it, so a row redrawn from here reads the same.
        "edited": edited_ago(document.updated_at),
        "online": online,
        "url": reverse("document-edit", kwargs=pk),
        "rename_url": reverse("document-rename", kwargs=pk) if can_write(role) else None,
        "delete_url": reverse("document-delete", kwargs=pk) if can_manage(role) else None,
    }


@api_login_required
@require_GET
def document_detail(request: HttpRequest, pk: UUID) -> JsonResponse:
    """GET /api/documents/<id>/: one document; 404 for strangers and unknown ids."""
    document = documents_for(request.user).filter(pk=pk).first()
    if document is None:
        return JsonResponse({"error": "not found"}, status=404)
    online = online_users_for([document.pk])
    return JsonResponse(document_json(document, online.get(document.pk, [])))
