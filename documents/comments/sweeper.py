"""The comment-mail sweep on a thread of a server process (see mail.py for why a sweep).

editor_project.server.serve starts one per process when
COMMENT_MAIL_SWEEP_SECONDS is above 0, so a running server mails the tails of
busy threads with no operator and no extra service; 0 leaves it to `manage.py
send_comment_mail --loop`. A thread, not a task on the event loop: the sweep
is database work and SMTP, both blocking, and must never stall a socket.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime

from django.db import close_old_connections, connection

from documents.comments import mail

log = logging.getLogger(__name__)


class MailSweeper:
    """Run `mail.send_due_mail` every `interval` seconds until stopped."""

    def __init__(
        self, *, interval: float, clock: Callable[[], datetime | None] = lambda: None
    ) -> None:
        self.interval = interval
        # Tests move time forward; None is the database's own now.
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sweep on a daemon thread; the first sweep comes within one interval."""
        self._thread = threading.Thread(target=self._run, name="comment-mail-sweep", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the sweep in progress, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def sweep_once(self) -> int:
        """One sweep, on the calling thread, with a connection of its own for its duration."""
        close_old_connections()
        try:
            return mail.send_due_mail(now=self.clock())
        finally:
            # Not held between sweeps: a minute apart, a connection would only
            # count against the database's limit (and go stale).
            connection.close()

    def _run(self) -> None:
        # Processes started together do not sweep (and contend) in step.
        if self._stop.wait(random.uniform(0, self.interval)):
            return
        while not self._stop.is_set():
            try:
                sent = self.sweep_once()
            except Exception:
                # The database or the mail server is away: the next sweep tries again.
                log.exception("comment mail sweep failed")
            else:
                if sent:
                    log.info("comment mail sweep sent %d mail(s)", sent)
            self._stop.wait(self.interval)
