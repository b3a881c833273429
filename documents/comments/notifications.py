"""Who hears of a comment: the people it mentions, and those already in its thread.

A mention notifies a person who can open the document; a mention of anyone
else (no such user, or no access) notifies nobody and is handed back, so the
page can offer the owner to share, and tell anyone else that person cannot
see the document, without telling a non-owner whether the username exists.
Replies notify the thread's earlier authors. One notification per person
per comment; its live copy and its mail leave after commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from documents.comments import events, mail
from documents.comments.models import Comment, Notification, NotificationKind
from documents.comments.text import mentioned_usernames
from documents.models import Document
from documents.permissions import role_for


def _mentioned(comment: Comment, document: Document) -> tuple[list[Any], list[str]]:
    """The users the comment mentions who can open the document, and the names that reach nobody."""
    reached: list[Any] = []
    unreached: list[str] = []
    users = get_user_model().objects
    for name in mentioned_usernames(comment.body):
        user = users.filter(username__iexact=name, is_active=True).first()
        if user is not None and role_for(user, document) is not None:
            reached.append(user)
        else:
            unreached.append(name)
    return reached, unreached


def comment_posted(
    *,
    comment: Comment,
    document: Document,
    absolute: Callable[[str], str],
    replies: bool = True,
) -> list[str]:
    """Create the notifications for a new (or edited) comment; the mentions that reached nobody."""
    actor_id = comment.author_id
    mentioned, unreached = _mentioned(comment, document)
    targets: dict[int, str] = {u.pk: NotificationKind.MENTION for u in mentioned}
    if replies:
        earlier = (
            Comment.objects.filter(thread_id=comment.thread_id)
            .exclude(pk=comment.pk)
            .exclude(author__isnull=True)
            .values_list("author_id", flat=True)
            .distinct()
        )
        for author_id in earlier:
            targets.setdefault(author_id, NotificationKind.REPLY)
    if actor_id is not None:
        targets.pop(actor_id, None)
    created: list[Notification] = []
    users = get_user_model().objects
    for user_id, kind in targets.items():
        if kind == NotificationKind.REPLY:
            user = users.filter(pk=user_id, is_active=True).first()
            if user is None or role_for(user, document) is None:
                continue  # gone from the document since they wrote
        notification, made = Notification.objects.get_or_create(
            user_id=user_id, comment=comment, defaults={"kind": kind, "actor_id": actor_id}
        )
        if made:
            created.append(notification)
    if created:
        ids = [n.pk for n in created]
        transaction.on_commit(lambda: _deliver(ids, absolute))
    return unreached


def _deliver(notification_ids: list[int], absolute: Callable[[str], str]) -> None:
    """After commit: the live copies, then the mails (batched per person and thread)."""
    from documents.comments.serializers import notification_json

    found = list(
        Notification.objects.filter(pk__in=notification_ids).select_related(
            "actor", "comment__thread__document"
        )
    )
    for notification in found:
        events.notification_created(notification.user_id, notification_json(notification))
    mail.notifications_mail(user_ids=sorted({n.user_id for n in found}), absolute=absolute)


def notifications_for(*, user: Any, limit: int = 50) -> list[Notification]:
    """The user's newest notifications, on documents they can still open."""
    visible = Document.objects.visible_to(user).values("pk")
    return list(
        Notification.objects.filter(user=user, comment__thread__document__in=visible)
        .select_related("actor", "comment__thread__document")
        .order_by("-created_at", "-id")[:limit]
    )


def unread_count(*, user: Any) -> int:
    """Unread notifications on documents the user can still open."""
    visible = Document.objects.visible_to(user).values("pk")
    return (
        Notification.objects.unread()
        .filter(user=user, comment__thread__document__in=visible)
        .count()
    )


def notifications_read(*, user: Any, ids: list[int] | None) -> int:
    """Mark the user's notifications (these ids, or all) as read; how many changed."""
    rows = Notification.objects.unread().filter(user=user)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    changed = rows.update(read_at=timezone.now())
    if changed:
        transaction.on_commit(lambda: events.notifications_read(user.pk))
    return changed
