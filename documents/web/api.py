"""JSON endpoints: the documents a user can see, with their role and who is online."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from documents.identity import identity
from documents.models import Document
from documents.permissions import can_write
from documents.web.selectors import documents_for, online_users_for, role_of

View = Callable[..., HttpResponse]


def api_login_required(view: View) -> View:
    """401 with a JSON body instead of a redirect to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "authentication required"}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


def api_errors(view: View) -> View:
    """Refusals as JSON: PermissionDenied 403, ValidationError 400, Http404 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return JsonResponse({"error": str(exc) or "forbidden"}, status=403)
        except ValidationError as exc:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)
        except Http404:
            return JsonResponse({"error": "not found"}, status=404)

    return wrapper


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
