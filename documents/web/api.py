"""JSON endpoints: the documents a user can see, with their role and who is online."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from documents.identity import identity
from documents.models import Document
from documents.permissions import can_write
from documents.web.json import api_login_required
from documents.web.selectors import documents_for, online_users_for, role_of


def _serialize(document: Document, online: list[dict[str, Any]]) -> dict[str, Any]:
    role = role_of(document)
    return {
        "id": str(document.pk),
        "title": document.title,
        "role": role.value,
        "can_edit": can_write(role),
        "owner": identity(document.owner),
        "created_at": document.created_at.isoformat(),
        "updated_at": document.updated_at.isoformat(),
        "online": online,
        "url": reverse("document-edit", kwargs={"pk": document.pk}),
    }


@api_login_required
@require_GET
def document_list(request: HttpRequest) -> JsonResponse:
    """GET /api/documents/: every document visible to the user, newest first."""
    documents = list(documents_for(request.user))
    online = online_users_for([d.pk for d in documents])
    return JsonResponse({"documents": [_serialize(d, online.get(d.pk, [])) for d in documents]})


@api_login_required
@require_GET
def document_detail(request: HttpRequest, pk: UUID) -> JsonResponse:
    """GET /api/documents/<id>/: one document; 404 for strangers and unknown ids."""
    document = documents_for(request.user).filter(pk=pk).first()
    if document is None:
        return JsonResponse({"error": "not found"}, status=404)
    online = online_users_for([document.pk])
    return JsonResponse(_serialize(document, online.get(document.pk, [])))
