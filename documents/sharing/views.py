"""Sharing endpoints: the owner's JSON API for roles and links, and link redemption."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from documents.models import Document, Role
from documents.permissions import document_or_404, role_for
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
        if not document.memberships.filter(user_id=user_id).exists():
            raise Http404
        sharing.access_grant(
            document=document, by=request.user, user_id=user_id, role=str(body.get("role", ""))
        )
    return _listing(request, document)


@api_login_required
@require_http_methods(["POST", "DELETE"])
@api_errors
def pending_cancel(request: HttpRequest, pk: UUID) -> HttpResponse:
    """{"email"}: withdraw a share waiting for that address to be confirmed."""
    document = _document(request, pk)
    sharing.pending_share_cancel(
        document=document, by=request.user, email=str(request_body(request).get("email", ""))
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
@require_http_methods(["GET", "POST"])
def share_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET: ask the visitor to confirm joining; POST: gain the link's role, land in the editor.

    Joining takes a POST (with its CSRF token) so a cross-site navigation alone
    never adds the visitor, and shows them to the owner, without their say.
    """
    link = sharing.link_for(token=token)
    if link is None:
        messages.error(request, "That share link is not valid any more.")
        return redirect("document-list")
    document = link.document
    refusal = sharing.link_refusal(link=link, user=request.user)
    if refusal:
        messages.error(request, refusal)
        return redirect("document-list")
    if request.method == "GET":
        current = role_for(request.user, document)
        if current is not None and sharing.RANK[current] >= sharing.RANK[Role(link.role)]:
            # Nothing to join: the link would not change their role.
            return redirect("document-edit", pk=document.pk)
        role_label = Role(link.role).label
        return render(
            request,
            "documents/share_confirm.html",
            {"document": document, "role": role_label, "token": token},
        )
    try:
        redeemed = sharing.link_redeem(token=token, user=request.user)
    except PermissionDenied as refused:
        messages.error(request, str(refused))
        return redirect("document-list")
    if redeemed is None:
        messages.error(request, "That share link is not valid any more.")
        return redirect("document-list")
    return redirect("document-edit", pk=redeemed.pk)
