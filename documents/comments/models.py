"""Comment threads on a document's text, their comments, and the notifications they cause.

A thread is anchored to the text it was made on by two Yjs relative
positions (`anchor_from`, `anchor_to`), encoded by the browser with
y-prosemirror's `absolutePositionToRelativePosition` and kept here as bytes.
They are stored beside the document, not in it: a commenter may not write
to the Yjs document, and a relative position needs no write to survive
edits around and inside the range. See documents/comments/__init__.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# A relative position encodes a type or item id and an association: a few
# dozen bytes; anything larger is not one.
ANCHOR_MAX_BYTES = 256
QUOTE_MAX_LENGTH = 500
BODY_MAX_LENGTH = 5000


class CommentThread(models.Model):
    """Comments on one range of a document's text."""

    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="comment_threads"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    anchor_from = models.BinaryField(max_length=ANCHOR_MAX_BYTES)
    anchor_to = models.BinaryField(max_length=ANCHOR_MAX_BYTES)
    # The text that was selected, for a thread whose text has since been deleted
    # (detached) and for the sidebar and exports.
    quote = models.CharField(max_length=QUOTE_MAX_LENGTH, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["document", "created_at"], name="thread_by_document")]

    def __str__(self) -> str:
        return f"thread {self.pk} on {self.document_id}"


class Comment(models.Model):
    """One message in a thread: plain text, mentions written as @username."""

    thread = models.ForeignKey(CommentThread, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=BODY_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} in thread {self.thread_id}"


class NotificationKind(models.TextChoices):
    MENTION = "mention", "Mention"
    REPLY = "reply", "Reply"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """Someone mentioned the user, or replied in a thread the user started or wrote in."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_notifications"
    )
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set once the notification went out in a mail (or was folded into one).
    mailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "comment"], name="one_notification_per_comment")
        ]
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
            # What the mail sweep looks for, every minute on every process: the
            # few rows not mailed yet, never a scan of everything ever notified.
            models.Index(
                fields=["user"],
                name="notification_unmailed",
                condition=Q(mailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} ({self.comment_id})"


class NotificationSettings(models.Model):
    """A user's choice about comment mails; no row means the default (mails on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_settings"
    )
    email_enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"comment mails {'on' if self.email_enabled else 'off'} for {self.user_id}"
