"""Mails about comments: one per person and thread, however busy the thread.

The first notification of a thread sends a mail at once; those that follow
within COMMENT_MAIL_BATCH_SECONDS of that mail wait (they are folded into the
thread's next mail), and go together once the window has passed. A
notification already read in the page is not mailed. Only a confirmed address
gets mail, and a person can turn the mails off. Sent the way
documents/accounts/mail.py sends: EMAIL_BACKEND decides how.

Who sends the folded ones (the tail) once their window has passed: the sweep,
`send_due_mail`, which mails every batch that is due, for everyone. Each server
process runs it every COMMENT_MAIL_SWEEP_SECONDS on a thread of its own
(sweeper.py, started by editor_project.server.serve), and `manage.py
send_comment_mail [--loop SECONDS]` runs the same sweep for deployments that
would rather schedule it (cron, a compose service) and turn the thread off.
Why a periodic sweep over the database, and not a timer set when a
notification is folded: a timer lives in one process and dies with it (after
a deploy or a crash nothing would send the tails it held), and the views that
fold are sync code with no event loop to set one on; the sweep finds what is
due whichever process folded it, after any restart, and costs one query on a
partial index (`notification_unmailed`) per run. Any number of processes may
sweep at once: each person's waiting rows are locked with SKIP LOCKED, so a
batch goes out once, from whichever sweep locked it first. A tail goes out at
most COMMENT_MAIL_SWEEP_SECONDS after its window ends, little beside the window.

Away from a request, links name the site by SITE_URL.
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


def site_absolute(path: str) -> str:
    """`path` as a link on the site (SITE_URL): for mails sent away from a request."""
    return settings.SITE_URL + path


def send_due_mail(
    *, absolute: Callable[[str], str] = site_absolute, now: datetime | None = None
) -> int:
    """Mail every batch whose window has passed, for everyone; the number of mails sent."""
    user_ids = list(
        Notification.objects.filter(mailed_at__isnull=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    return notifications_mail(user_ids=user_ids, absolute=absolute, now=now)


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
