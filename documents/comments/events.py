"""Sending comment events to the events sockets (consumer.py) from sync code, after commit.

A failing channel layer must not fail the request that caused the event: the
page catches up from the JSON API when its socket reconnects.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from documents.realtime import messages

log = logging.getLogger(__name__)


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        log.warning("could not send %s to %s", message.get("type"), group)


def thread_changed(document_id: UUID, thread: dict[str, Any]) -> None:
    group = messages.comments_group_name(document_id)
    _send(group, dict(messages.comments_thread(document_id, int(thread["id"]), thread)))


def thread_removed(document_id: UUID, thread_id: int) -> None:
    _send(
        messages.comments_group_name(document_id),
        dict(messages.comments_thread(document_id, thread_id, None)),
    )


def access_changed(document_id: UUID, user_id: int, role: str | None) -> None:
    group = messages.comments_group_name(document_id)
    _send(group, dict(messages.comments_access(document_id, user_id, role)))


def document_closed(document_id: UUID) -> None:
    """The document went to the trash or was deleted: its comment subscribers are cut."""
    group = messages.comments_group_name(document_id)
    _send(group, dict(messages.comments_closed(document_id)))


def notification_created(user_id: int, notification: dict[str, Any]) -> None:
    group = messages.notifications_group_name(user_id)
    _send(group, dict(messages.notification_created(notification)))


def notifications_read(user_id: int) -> None:
    _send(messages.notifications_group_name(user_id), dict(messages.notifications_read()))


def session_ended(user_id: int, message: messages.SessionEnded) -> None:
    """The user's session (or every one) ended: their events sockets close."""
    _send(messages.notifications_group_name(user_id), dict(message))
