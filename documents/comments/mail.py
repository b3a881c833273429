"""Mails about comments: one per person and thread, however busy the thread.

The first notification of a thread sends a mail at once; those that follow
within COMMENT_MAIL_BATCH_SECONDS of that mail wait, and go together in the
next mail of that thread, sent when a later notification for the person
arrives after the window (any thread's: each delivery looks at everything the
person has waiting). A notification already read in the page is not mailed.
Only a confirmed address gets mail, and a person can turn the mails off.
Sent the way documents/accounts/mail.py sends: EMAIL_BACKEND decides how.
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from documents import conf
from documents.comments.models import Notification, NotificationSettings
from documents.identity import display_name
from documents.models import EmailAddress

log = logging.getLogger(__name__)


def mail_enabled(user_id: int) -> bool:
    """Whether the person wants comment mails (the default)."""
    row = NotificationSettings.objects.filter(user_id=user_id).first()
    return row is None or row.email_enabled


def notifications_mail(
    *, user_ids: list[int], absolute: Callable[[str], str], now: datetime | None = None
) -> int:
    """Send what is due to these people; the number of mails sent."""
    now = now or timezone.now()
    window = timedelta(seconds=float(conf.get("COMMENT_MAIL_BATCH_SECONDS")))
    sent = 0
    for user_id in user_ids:
        address = EmailAddress.objects.verified().filter(user_id=user_id).first()
        with transaction.atomic():
            # Locked, and rows another process is mailing skipped: each
            # notification goes out once.
            waiting = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(user_id=user_id, mailed_at__isnull=True)
                .select_related("actor", "comment__thread__document")
                .order_by("created_at", "id")
            )
            if not waiting:
                continue
            if address is None or not mail_enabled(user_id):
                # Not mailed now, and not later either when mails are turned on.
                Notification.objects.filter(pk__in=[n.pk for n in waiting]).update(mailed_at=now)
                continue
            by_thread: dict[int, list[Notification]] = defaultdict(list)
            for notification in waiting:
                by_thread[notification.comment.thread_id].append(notification)
            last_mailed = dict(
                Notification.objects.filter(user_id=user_id, comment__thread_id__in=list(by_thread))
                .values_list("comment__thread_id")
                .annotate(last=Max("mailed_at"))
                .values_list("comment__thread_id", "last")
            )
            for thread_id, batch in by_thread.items():
                last = last_mailed.get(thread_id)
                if last is not None and now - last < window:
                    continue  # folded into the thread's next mail
                unread = [n for n in batch if n.read_at is None]
                if unread and _send(to=address.email, batch=unread, absolute=absolute):
                    sent += 1
                elif unread:
                    continue  # not sent: tried again with the next notification
                Notification.objects.filter(pk__in=[n.pk for n in batch]).update(mailed_at=now)
    return sent


def _send(*, to: str, batch: list[Notification], absolute: Callable[[str], str]) -> bool:
    thread = batch[0].comment.thread
    document = thread.document
    link = absolute(reverse("document-edit", kwargs={"pk": document.pk}) + f"#thread-{thread.pk}")
    items: list[dict[str, Any]] = [
        {
            "who": display_name(n.actor) if n.actor else "Someone",
            "mention": n.kind == "mention",
            "body": n.comment.body,
        }
        for n in batch
    ]
    title = document.title.replace("\n", " ")[:120]
    subject = (
        f"New comments on “{title}”"
        if len(items) > 1
        else f"{items[0]['who']} commented on “{title}”"
    )
    subject = " ".join(subject.split())  # no header injection from names or titles
    body = render_to_string(
        "comments/mail/notifications.txt",
        {
            "items": items,
            "title": title,
            "link": link,
            "settings_link": absolute(reverse("comment-settings")),
        },
    )
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except (smtplib.SMTPException, OSError) as failed:
        log.warning("could not send comment mail: %s", failed)
        return False
    return True
