"""Ending a user's open sockets when their session ends.

The socket's session is checked once, on connect; without this an open
editor would outlive a logout, a password change or a disabled account and
keep writing. Each end is announced, after commit, to every document the user
can open; each room there closes the matching sockets with 4401.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_init, post_save

from documents.comments import events as comment_events
from documents.models import Document
from documents.realtime import messages

logger = logging.getLogger(__name__)

# What the user row held when loaded (or last saved): a save that changes it ends every session.
_ORIGINAL = "_collab_session_fields"


def sessions_end(*, user_id: int, session_key: str | None) -> None:
    """After commit, close the user's sockets: one session's, or every one (None)."""
    message = messages.session_ended(user_id, session_key)

    def send() -> None:
        # The user's comments events sockets listen on a group of the user's own.
        comment_events.session_ended(user_id, message)
        # Unordered: SQLite refuses ORDER BY (Document's default) in a UNION's parts.
        owned = Document.objects.filter(owner_id=user_id).order_by()
        shared = Document.objects.filter(memberships__user_id=user_id).order_by()
        ids = list(owned.values_list("pk", flat=True).union(shared.values_list("pk", flat=True)))
        for document_id in ids:
            try:
                messages.announce(document_id, message)
            except Exception:
                # The channel layer being away must not fail the logout itself.
                logger.warning("could not end user=%s sockets", user_id, exc_info=True)
                return

    transaction.on_commit(send)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None or request is None:
        return
    # Sent before the session is flushed: its key is still the one the sockets hold.
    sessions_end(user_id=user.pk, session_key=request.session.session_key)


def _remember(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Read from __dict__: a deferred field must not cost a query per loaded user.
    fields = instance.__dict__
    fields[_ORIGINAL] = (fields.get("password"), fields.get("is_active"))


def _saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = instance.__dict__.get(_ORIGINAL)
    _remember(sender, instance)
    if created or before is None:
        return
    password, active = before
    now = instance.__dict__
    # A new password invalidates every other session (their auth hash no
    # longer matches); a disabled account may not keep any.
    changed = password is not None and now.get("password") not in (None, password)
    disabled = active is True and now.get("is_active") is False
    if changed or disabled:
        sessions_end(user_id=instance.pk, session_key=None)


def connect_signals() -> None:
    """Wire the receivers (called once, from the app's ready())."""
    user_model = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid="collab.sessions.logged_out")
    post_init.connect(_remember, sender=user_model, dispatch_uid="collab.sessions.remember")
    post_save.connect(_saved, sender=user_model, dispatch_uid="collab.sessions.saved")
