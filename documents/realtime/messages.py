"""The channel-layer vocabulary: every message a room or a view sends to a document's group.

Rooms (one per process with the document open) receive these on their own
channel and dispatch on `type`. Nothing a client sends is ever forwarded here
as is: each message is built by one of the constructors below.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


class DocumentUpdate(TypedDict, total=False):
    """A committed update; `origin` is absent when a view (not a room) committed it."""

    type: Literal["document.update"]
    origin: str
    seq: int
    update: bytes


class DocumentAccess(TypedDict):
    """A user's role changed; None means their access was removed."""

    type: Literal["document.access"]
    user_id: int
    role: str | None


class SessionEnded(TypedDict):
    """A user's session ended: one (`session_key`), or all of them (None)."""

    type: Literal["session.ended"]
    user_id: int
    session_key: str | None


class DocumentDeleted(TypedDict):
    type: Literal["document.deleted"]


class RoomHello(TypedDict):
    """A room opened (or met a peer it did not know): peers answer with their users' states."""

    type: Literal["room.hello"]
    origin: str


class RoomBye(TypedDict):
    """A room closed: peers drop its users at once."""

    type: Literal["room.bye"]
    origin: str


class RoomHeartbeat(TypedDict):
    """A room is alive and has delivered up to `last_seq`.

    `sent_at` (the sender's wall time) lets the sender time its own heartbeat's
    round trip through the group: how far behind its listen loop is.
    """

    type: Literal["room.heartbeat"]
    origin: str
    last_seq: int
    sent_at: float


class PresenceUpdate(TypedDict):
    """Awareness entries that changed, stamped by the sending process."""

    type: Literal["presence.update"]
    origin: str
    payload: bytes


class PresenceStates(TypedDict):
    """Every state a process holds for its own editors, in answer to a hello."""

    type: Literal["presence.states"]
    origin: str
    payload: bytes


Message = (
    DocumentUpdate
    | DocumentAccess
    | SessionEnded
    | DocumentDeleted
    | RoomHello
    | RoomBye
    | RoomHeartbeat
    | PresenceUpdate
    | PresenceStates
)


def group_name(document_id: UUID) -> str:
    """The Channels group of every process with the document open."""
    return f"document.{document_id.hex}"


def document_update(seq: int, update: bytes, origin: str | None = None) -> DocumentUpdate:
    message: DocumentUpdate = {"type": "document.update", "seq": seq, "update": update}
    if origin is not None:
        message["origin"] = origin
    return message


def document_access(user_id: int, role: str | None) -> DocumentAccess:
    return {"type": "document.access", "user_id": user_id, "role": role}


def session_ended(user_id: int, session_key: str | None) -> SessionEnded:
    return {"type": "session.ended", "user_id": user_id, "session_key": session_key}


def document_deleted() -> DocumentDeleted:
    return {"type": "document.deleted"}


def room_hello(origin: str) -> RoomHello:
    return {"type": "room.hello", "origin": origin}


def room_bye(origin: str) -> RoomBye:
    return {"type": "room.bye", "origin": origin}


def room_heartbeat(origin: str, last_seq: int, sent_at: float) -> RoomHeartbeat:
    return {"type": "room.heartbeat", "origin": origin, "last_seq": last_seq, "sent_at": sent_at}


def presence_update(origin: str, payload: bytes) -> PresenceUpdate:
    return {"type": "presence.update", "origin": origin, "payload": payload}


def presence_states(origin: str, payload: bytes) -> PresenceStates:
    return {"type": "presence.states", "origin": origin, "payload": payload}


def stamped(message: Message, sent_at: float) -> dict[str, Any]:
    """The message with its sender's wall time (`sent_at`), as rooms send them.

    A room that stopped hearing its own heartbeats tells a lost membership
    (it hears others' messages sent well after them) from a backlog.
    """
    return {**message, "sent_at": sent_at}


def announce(document_id: UUID, message: Message) -> None:
    """Send a message to the document's group from sync code (views, services).

    Call it from `transaction.on_commit`: a message about a change that then
    rolled back would mislead every open editor.
    """
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group_name(document_id), dict(message))


# -- comments: sent to the groups of the events socket (documents/comments/events.py),
# never to a document's group, so rooms and Yjs sockets never see them.


class CommentsThread(TypedDict):
    """A thread was created or changed (`thread` is its JSON), or removed (`thread` None)."""

    type: Literal["comments.thread"]
    document_id: str
    thread_id: int
    thread: dict[str, Any] | None


class CommentsAccess(TypedDict):
    """A user's role on the document changed (None: removed), for their events sockets."""

    type: Literal["comments.access"]
    document_id: str
    user_id: int
    role: str | None


class CommentsClosed(TypedDict):
    """The document was trashed or deleted: every subscriber checks its role again."""

    type: Literal["comments.closed"]
    document_id: str


class NotificationCreated(TypedDict):
    type: Literal["notification.created"]
    notification: dict[str, Any]


class NotificationsRead(TypedDict):
    type: Literal["notification.read"]


def comments_group_name(document_id: UUID) -> str:
    """The group of the events sockets following a document's comments."""
    return f"comments.{document_id.hex}"


def notifications_group_name(user_id: int) -> str:
    """The group of a user's events sockets."""
    return f"notifications.{int(user_id)}"


def comments_thread(
    document_id: UUID, thread_id: int, thread: dict[str, Any] | None
) -> CommentsThread:
    return {
        "type": "comments.thread",
        "document_id": str(document_id),
        "thread_id": thread_id,
        "thread": thread,
    }


def comments_access(document_id: UUID, user_id: int, role: str | None) -> CommentsAccess:
    return {
        "type": "comments.access",
        "document_id": str(document_id),
        "user_id": user_id,
        "role": role,
    }


def comments_closed(document_id: UUID) -> CommentsClosed:
    return {"type": "comments.closed", "document_id": str(document_id)}


def notification_created(notification: dict[str, Any]) -> NotificationCreated:
    return {"type": "notification.created", "notification": notification}


def notifications_read() -> NotificationsRead:
    return {"type": "notification.read"}
