"""Threads and comments as the JSON API and the events socket send them.

The same for every reader (no per-user fields), so one message per change can
go to every open page; the page decides what is its own by the author's id.
"""

from __future__ import annotations

import base64
from typing import Any

from django.urls import reverse

from documents.comments.models import Comment, CommentThread, Notification
from documents.identity import identity


def _person(user: Any) -> dict[str, Any] | None:
    return identity(user) if user is not None else None


def anchor_text(anchor: bytes | memoryview) -> str:
    """An anchor's bytes as base64, as the browser hands them to Yjs."""
    return base64.b64encode(bytes(anchor)).decode("ascii")


def comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "author": _person(comment.author),
        "body": comment.body,
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
    }


def thread_json(thread: CommentThread) -> dict[str, Any]:
    """A thread with its comments; expects `comments__author` prefetched."""
    return {
        "id": thread.pk,
        "document": str(thread.document_id),
        "anchor": {"from": anchor_text(thread.anchor_from), "to": anchor_text(thread.anchor_to)},
        "quote": thread.quote,
        "created_by": _person(thread.created_by),
        "created_at": thread.created_at.isoformat(),
        "resolved": thread.resolved_at is not None,
        "resolved_at": thread.resolved_at.isoformat() if thread.resolved_at else None,
        "resolved_by": _person(thread.resolved_by),
        "comments": [comment_json(c) for c in thread.comments.all()],
    }


def notification_json(notification: Notification) -> dict[str, Any]:
    """One notification; expects comment, its thread and document, and actor selected."""
    comment = notification.comment
    thread = comment.thread
    document = thread.document
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "actor": _person(notification.actor),
        "document": {"id": str(document.pk), "title": document.title},
        "thread": thread.pk,
        "comment": comment.pk,
        "excerpt": comment.body[:200],
        "url": reverse("document-edit", kwargs={"pk": document.pk}) + f"#thread-{thread.pk}",
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }
