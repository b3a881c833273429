"""`manage.py send_comment_mail`: send the batched comment mails that are due."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from documents import conf
from documents.comments import mail


class Command(BaseCommand):
    help = (
        "Send every batched comment mail that is due: the replies and mentions a thread "
        "held back for COLLAB_COMMENT_MAIL_BATCH_SECONDS after its last mail. Server "
        "processes do this themselves every COLLAB_COMMENT_MAIL_SWEEP_SECONDS; run this "
        "(from cron, or with --loop as a service) when that is set to 0. Safe to run "
        "from several processes at once: each mail goes out once. Links name SITE_URL."
    )
    # Tests move time forward: call_command("send_comment_mail", now=...).
    stealth_options = ("now",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Keep running, sending what is due every SECONDS, until stopped (SIGTERM "
            "or Ctrl-C).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every: float | None = options["loop"]
        now: datetime | None = options.get("now")
        if every is None:
            self._report(mail.send_due_mail(now=now))
            return
        if every <= 0:
            raise CommandError("--loop needs a number of seconds above 0.")
        stop = threading.Event()
        previous = {
            signum: signal.signal(signum, lambda *_: stop.set())
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        window = conf.get("COMMENT_MAIL_BATCH_SECONDS")
        self.stdout.write(f"Sending due comment mails every {every:g} s (window {window} s).")
        try:
            while not stop.is_set():
                self._sweep(now)
                stop.wait(every)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("Stopped.")

    def _sweep(self, now: datetime | None) -> None:
        close_old_connections()
        try:
            sent = mail.send_due_mail(now=now)
        except Exception as exc:
            # The database or the mail server is away: the next round tries again.
            self.stderr.write(f"Could not send comment mails: {exc}")
            return
        finally:
            connection.close()  # not held while sleeping
        if sent:
            self._report(sent)

    def _report(self, sent: int) -> None:
        self.stdout.write(f"Sent {sent} comment mail(s).")
