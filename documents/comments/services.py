"""Comment workflows: open a thread, reply, edit, delete, resolve and reopen.

Every function checks the caller's role itself (strangers never reach here:
the views answer 404 first), writes in one transaction, and after commit
tells the document's open pages (events.py) and the people concerned
(notifications.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from documents import conf
from documents.comments import events, notifications
from documents.comments.models import (
    ANCHOR_MAX_BYTES,
    BODY_MAX_LENGTH,
    QUOTE_MAX_LENGTH,
    Comment,
    CommentThread,
)
from documents.comments.serializers import thread_json
from documents.comments.text import clean_text
from documents.models import Document
from documents.permissions import can_comment, role_for
from documents.web import throttle

# Threads one document may hold: rows any commenter can add.
MAX_THREADS_PER_DOCUMENT = 2000
MAX_COMMENTS_PER_THREAD = 500


class CommentRateLimited(Exception):
    """The user wrote too many comments in the last minute (429)."""


def _throttle(user: Any) -> None:
    counter = throttle.hit(
        scope="comment",
        subject=str(user.pk),
        limit=int(conf.get("COMMENTS_PER_MINUTE")),
        window=60,
    )
    if counter.exceeded:
        raise CommentRateLimited("You are commenting too quickly; try again in a minute.")


@dataclass
class Posted:
    """A comment just written, and the mentions that did not reach anyone."""

    comment: Comment
    # Usernames mentioned that are not among the document's people.
    unreached: list[str] = field(default_factory=list)


def clean_anchor(value: Any) -> bytes:
    """An encoded Yjs relative position, as the browser sent it (bytes)."""
    if not isinstance(value, bytes) or not value:
        raise ValidationError("The comment's anchor is missing.")
    if len(value) > ANCHOR_MAX_BYTES:
        raise ValidationError("The comment's anchor is too large.")
    return value


def _require_commenter(document: Document, user: Any) -> None:
    if not can_comment(role_for(user, document)):
        raise PermissionDenied("You can read the comments on this document but not write them.")


def _require_author(comment: Comment, user: Any) -> None:
    if comment.author_id != user.pk:
        raise PermissionDenied("Only its author can change a comment.")


def _changed(thread: CommentThread) -> None:
    """After commit: the thread as it now stands goes to the document's open pages."""
    _changed_ids(thread.document_id, thread.pk)


def _changed_ids(document_id: Any, thread_id: int) -> None:

    def send() -> None:
        fresh = (
            CommentThread.objects.filter(pk=thread_id)
            .select_related("created_by", "resolved_by")
            .prefetch_related("comments__author")
            .first()
        )
        if fresh is None:
            events.thread_removed(document_id, thread_id)
        else:
            events.thread_changed(document_id, thread_json(fresh))

    transaction.on_commit(send)


def thread_create(
    *,
    document: Document,
    by: Any,
    anchor_from: bytes,
    anchor_to: bytes,
    quote: Any,
    body: Any,
    absolute: Callable[[str], str] = str,
) -> Posted:
    """Open a thread on a range of the text, with its first comment."""
    _require_commenter(document, by)
    anchor_from = clean_anchor(anchor_from)
    anchor_to = clean_anchor(anchor_to)
    # The quote is the selection as the browser saw it: shown, never trusted.
    quote = clean_text(quote, limit=QUOTE_MAX_LENGTH, what="quote", required=False)
    body = clean_text(body, limit=BODY_MAX_LENGTH, what="comment")
    _throttle(by)
    with transaction.atomic():
        # One document's threads are counted with the document locked, so
        # parallel requests cannot pass the limit together.
        Document.objects.select_for_update().filter(pk=document.pk).first()
        if CommentThread.objects.filter(document=document).count() >= MAX_THREADS_PER_DOCUMENT:
            raise ValidationError("This document has as many comment threads as it can hold.")
        thread = CommentThread.objects.create(
            document=document,
            created_by=by,
            anchor_from=anchor_from,
            anchor_to=anchor_to,
            quote=quote,
        )
        comment = Comment.objects.create(thread=thread, author=by, body=body)
        unreached = notifications.comment_posted(
            comment=comment, document=document, absolute=absolute
        )
        _changed(thread)
    return Posted(comment=comment, unreached=unreached)


def comment_reply(
    *, thread: CommentThread, by: Any, body: Any, absolute: Callable[[str], str] = str
) -> Posted:
    """Add a comment to a thread; a reply reopens a resolved thread, as in Google Docs."""
    document = thread.document
    _require_commenter(document, by)
    body = clean_text(body, limit=BODY_MAX_LENGTH, what="comment")
    _throttle(by)
    with transaction.atomic():
        locked = CommentThread.objects.select_for_update().get(pk=thread.pk)
        if locked.comments.count() >= MAX_COMMENTS_PER_THREAD:
            raise ValidationError("This thread has as many comments as it can hold.")
        comment = Comment.objects.create(thread=locked, author=by, body=body)
        if locked.resolved_at is not None:
            locked.resolved_at = None
            locked.resolved_by = None
            locked.save(update_fields=["resolved_at", "resolved_by"])
        unreached = notifications.comment_posted(
            comment=comment, document=document, absolute=absolute
        )
        _changed(locked)
    return Posted(comment=comment, unreached=unreached)


def comment_edit(
    *, comment: Comment, by: Any, body: Any, absolute: Callable[[str], str] = str
) -> Posted:
    """Change the text of one's own comment; new mentions are notified, old ones are not again."""
    document = comment.thread.document
    _require_commenter(document, by)
    _require_author(comment, by)
    body = clean_text(body, limit=BODY_MAX_LENGTH, what="comment")
    _throttle(by)
    with transaction.atomic():
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        unreached = notifications.comment_posted(
            comment=comment, document=document, absolute=absolute, replies=False
        )
        _changed(comment.thread)
    return Posted(comment=comment, unreached=unreached)


def comment_delete(*, comment: Comment, by: Any) -> None:
    """Delete one's own comment; a thread left without comments goes with it."""
    thread = comment.thread
    _require_commenter(thread.document, by)
    _require_author(comment, by)
    thread_id = thread.pk
    with transaction.atomic():
        CommentThread.objects.select_for_update().filter(pk=thread_id).first()
        comment.delete()
        if not Comment.objects.filter(thread_id=thread_id).exists():
            thread.delete()
        _changed_ids(thread.document_id, thread_id)


def thread_resolve(*, thread: CommentThread, by: Any, resolved: bool) -> CommentThread:
    """Resolve (or reopen) a thread: anyone who may comment may, as in Google Docs."""
    _require_commenter(thread.document, by)
    with transaction.atomic():
        locked = CommentThread.objects.select_for_update().get(pk=thread.pk)
        if resolved and locked.resolved_at is None:
            locked.resolved_at = timezone.now()
            locked.resolved_by = by
        elif not resolved:
            locked.resolved_at = None
            locked.resolved_by = None
        locked.save(update_fields=["resolved_at", "resolved_by"])
        _changed(locked)
    return locked
