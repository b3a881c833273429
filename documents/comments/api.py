"""The comments' JSON API: threads of a document, their comments, notifications.

Every document path answers 404 to a stranger (document_or_404), 403 to a
viewer who tries to write, and the services check the role again.
"""

from __future__ import annotations

import base64
import binascii
from functools import wraps
from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from documents.comments import notifications, services
from documents.comments.models import Comment, CommentThread, NotificationSettings
from documents.comments.serializers import comment_json, notification_json, thread_json
from documents.identity import identity
from documents.models import Document
from documents.permissions import can_comment, can_manage, document_or_404
from documents.web.json import View, api_errors, api_login_required, request_body


def _rate_limited(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except services.CommentRateLimited as exc:
            return JsonResponse({"error": str(exc)}, status=429)

    return wrapper


def _threads(document: Document) -> list[CommentThread]:
    comments = Prefetch("comments", queryset=Comment.objects.select_related("author"))
    return list(
        CommentThread.objects.filter(document=document)
        .select_related("created_by", "resolved_by")
        .prefetch_related(comments)
    )


def _thread(document: Document, thread_id: int) -> CommentThread:
    thread = (
        CommentThread.objects.filter(document=document, pk=thread_id)
        .select_related("document", "created_by", "resolved_by")
        .first()
    )
    if thread is None:
        raise Http404
    return thread


def _fresh(thread_id: int) -> dict[str, Any] | None:
    thread = (
        CommentThread.objects.filter(pk=thread_id)
        .select_related("created_by", "resolved_by")
        .prefetch_related(Prefetch("comments", queryset=Comment.objects.select_related("author")))
        .first()
    )
    return thread_json(thread) if thread else None


def _anchor(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) > 1024:
        raise ValidationError("The comment's anchor is missing.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("The comment's anchor is not base64.") from None


def people(document: Document) -> list[dict[str, Any]]:
    """Who can be mentioned: the owner and members known by username.

    A member the owner shared with by e-mail only (username_known False) is
    left out, so the list never tells the owner whose address it was.
    """
    rows = [{**identity(document.owner), "username": document.owner.get_username()}]
    members = document.memberships.filter(username_known=True).select_related("user")
    for membership in members.order_by("user__username"):
        rows.append({**identity(membership.user), "username": membership.user.get_username()})
    return rows


def _posted(request: HttpRequest, document: Document, posted: services.Posted) -> dict[str, Any]:
    """What a page needs after posting: the thread, and the mentions that reached nobody."""
    return {
        "thread": _fresh(posted.comment.thread_id),
        "comment": comment_json(posted.comment),
        "unreached": posted.unreached,
        # The owner may share with them; anyone else is told they cannot see it.
        "can_share": can_manage(document_or_404(request.user, document.pk)[1]),
    }


@api_login_required
@require_http_methods(["GET", "POST"])
@api_errors
@_rate_limited
def threads(request: HttpRequest, pk: UUID) -> HttpResponse:
    """GET: every thread of the document. POST {anchor_from, anchor_to, quote, body}: a new one."""
    document, role = document_or_404(request.user, pk)
    if request.method == "GET":
        return JsonResponse(
            {
                "threads": [thread_json(t) for t in _threads(document)],
                "role": role.value,
                "can_comment": can_comment(role),
                "people": people(Document.objects.select_related("owner").get(pk=document.pk)),
            }
        )
    body = request_body(request)
    posted = services.thread_create(
        document=document,
        by=request.user,
        anchor_from=_anchor(body.get("anchor_from")),
        anchor_to=_anchor(body.get("anchor_to")),
        quote=body.get("quote", ""),
        body=body.get("body"),
        absolute=request.build_absolute_uri,
    )
    return JsonResponse(_posted(request, document, posted), status=201)


@api_login_required
@require_http_methods(["POST"])
@api_errors
@_rate_limited
def replies(request: HttpRequest, pk: UUID, thread_id: int) -> HttpResponse:
    """POST {body}: reply in a thread."""
    document, _ = document_or_404(request.user, pk)
    thread = _thread(document, thread_id)
    posted = services.comment_reply(
        thread=thread,
        by=request.user,
        body=request_body(request).get("body"),
        absolute=request.build_absolute_uri,
    )
    return JsonResponse(_posted(request, document, posted), status=201)


@api_login_required
@require_http_methods(["POST"])
@api_errors
def resolve(request: HttpRequest, pk: UUID, thread_id: int) -> HttpResponse:
    """POST {resolved: true|false}: resolve or reopen a thread."""
    document, _ = document_or_404(request.user, pk)
    thread = _thread(document, thread_id)
    resolved = request_body(request).get("resolved", True)
    if not isinstance(resolved, bool):
        raise ValidationError("`resolved` must be true or false.")
    services.thread_resolve(thread=thread, by=request.user, resolved=resolved)
    return JsonResponse({"thread": _fresh(thread.pk)})


@api_login_required
@require_http_methods(["PATCH", "DELETE"])
@api_errors
@_rate_limited
def comment(request: HttpRequest, pk: UUID, thread_id: int, comment_id: int) -> HttpResponse:
    """PATCH {body}: edit one's own comment. DELETE: delete it."""
    document, _ = document_or_404(request.user, pk)
    thread = _thread(document, thread_id)
    found = Comment.objects.filter(thread=thread, pk=comment_id).select_related("thread").first()
    if found is None:
        raise Http404
    found.thread = thread
    if request.method == "DELETE":
        services.comment_delete(comment=found, by=request.user)
        return JsonResponse({"thread": _fresh(thread.pk)})
    posted = services.comment_edit(
        comment=found,
        by=request.user,
        body=request_body(request).get("body"),
        absolute=request.build_absolute_uri,
    )
    return JsonResponse(_posted(request, document, posted))


@api_login_required
@require_http_methods(["GET"])
def notification_list(request: HttpRequest) -> HttpResponse:
    """GET: the newest notifications and the unread count."""
    rows = notifications.notifications_for(user=request.user)
    return JsonResponse(
        {
            "unread": notifications.unread_count(user=request.user),
            "notifications": [notification_json(n) for n in rows],
        }
    )


@api_login_required
@require_http_methods(["POST"])
@api_errors
def notifications_read(request: HttpRequest) -> HttpResponse:
    """POST {ids: [...]} (or no ids: all): mark notifications as read."""
    ids = request_body(request).get("ids")
    if ids is not None and (
        not isinstance(ids, list)
        or len(ids) > 500
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise ValidationError("`ids` must be a list of notification ids.")
    changed = notifications.notifications_read(user=request.user, ids=ids)
    return JsonResponse({"read": changed, "unread": notifications.unread_count(user=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The comment mail setting: on or off."""
    user: Any = request.user
    row = NotificationSettings.objects.filter(user=user).first()
    if row is None:
        row = NotificationSettings(user=user)
    if request.method == "POST":
        row.email_enabled = request.POST.get("email_enabled") == "on"
        row.save()
        return redirect("comment-settings")
    return render(request, "comments/settings.html", {"settings": row})
