"""Sharing endpoints: the owner's JSON API for roles and links, and link redemption."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from documents.models import Document
from documents.permissions import document_or_404
from documents.sharing import services as sharing
from documents.web.json import api_errors, api_login_required, request_body


def _document(request: HttpRequest, pk: UUID) -> Document:
    return document_or_404(request.user, pk)[0]


def _link_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("share-link", kwargs={"token": token}))


def _listing(request: HttpRequest, document: Document) -> JsonResponse:
    access = sharing.access_list(document=document, by=request.user)
    for link in access["links"]:
        link["url"] = _link_url(request, link["token"])
    return JsonResponse(access)


@api_login_required
@require_http_methods(["GET", "POST"])
@api_errors
def access(request: HttpRequest, pk: UUID) -> HttpResponse:
    """GET: members and links. POST {"user", "role"}: share with a user or change a role."""
    document = _document(request, pk)
    if request.method == "POST":
        body = request_body(request)
        sharing.access_grant(
            document=document,
            by=request.user,
            who=str(body.get("user", "")),
            role=str(body.get("role", "")),
        )
    return _listing(request, document)


@api_login_required
@require_http_methods(["POST", "DELETE"])
@api_errors
def access_member(request: HttpRequest, pk: UUID, user_id: int) -> HttpResponse:
    """DELETE (or POST with role "none"): remove the user's access."""
    document = _document(request, pk)
    body = request_body(request) if request.method == "POST" else {}
    if request.method == "DELETE" or body.get("role") == "none":
        sharing.access_revoke(document=document, by=request.user, user_id=user_id)
    else:
        user = document.memberships.filter(user_id=user_id).select_related("user").first()
        if user is None:
            raise Http404
        sharing.access_grant(
            document=document,
            by=request.user,
            who=user.user.get_username(),
            role=str(body.get("role", "")),
        )
    return _listing(request, document)


@api_login_required
@require_http_methods(["POST"])
@api_errors
def links(request: HttpRequest, pk: UUID) -> HttpResponse:
    """POST {"role"}: a new share link."""
    document = _document(request, pk)
    sharing.link_create(
        document=document, by=request.user, role=str(request_body(request).get("role", ""))
    )
    return _listing(request, document)


@api_login_required
@require_http_methods(["POST", "DELETE"])
@api_errors
def link_revoke(request: HttpRequest, pk: UUID, token: str) -> HttpResponse:
    """Revoke a link, and the access it alone granted."""
    document = _document(request, pk)
    sharing.link_revoke(document=document, by=request.user, token=token)
    return _listing(request, document)


@login_required
@require_GET
def share_link(request: HttpRequest, token: str) -> HttpResponse:
    """Open a share link: gain its role, land in the editor."""
    document = sharing.link_redeem(token=token, user=request.user)
    if document is None:
        messages.error(request, "That share link is not valid any more.")
        return redirect("document-list")
    return redirect("document-edit", pk=document.pk)
