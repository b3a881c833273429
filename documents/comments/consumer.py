"""/ws/events/: a small JSON socket for comment threads and notifications.

Apart from the Yjs socket, so a stock y-websocket client never receives a
frame it does not understand, and the Yjs consumer's per-update path carries
nothing for comments. One per page: it joins the user's notifications group
at connect, and a document's comments group when the page subscribes to it,
after a role check (a stranger is told "not found", as over HTTP). The
document's role changes reach it as `comments.access`: a removed user is
unsubscribed at once; a document trashed or deleted sends `comments.closed`,
and every page following it is unsubscribed the same way. A user holds at most
MAX_EVENTS_SOCKETS_PER_USER of these sockets on one process (sockets.py); the
next one is closed with 4510, which clients retry.

Client -> server: {"subscribe": "<document id>"}.
Server -> client: {"type": "subscribed", "document", "role"},
{"type": "thread", "document", "id", "thread"} (thread null: removed),
{"type": "access", "document", "role"}, {"type": "notification", ...},
{"type": "notifications-read"}, {"type": "error", "error"}.
"""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import UUID

from channels.generic.websocket import AsyncWebsocketConsumer

from documents import conf
from documents.comments.sockets import events_sockets
from documents.permissions import document_role
from documents.realtime import messages
from documents.realtime.access import read_user
from documents.realtime.close_codes import CloseCode
from documents.storage import readers

MAX_FRAME_CHARS = 1024
MAX_SUBSCRIPTIONS = 20
MAX_FRAMES_PER_MINUTE = 60


class EventsConsumer(AsyncWebsocketConsumer):
    """One page's comment events and the user's notifications."""

    async def connect(self) -> None:
        """Authenticated users only; join the user's notifications group."""
        # A database error here (it is away) closes the socket with 4500 (outage guard).
        self.user: Any = await read_user(self.scope) if "user" in self.scope else None
        self.documents: dict[str, UUID] = {}  # group name -> document id
        self.frames: list[float] = []
        self.counted = False  # whether this socket holds a place in the user's count
        if self.user is None or not self.user.is_authenticated:
            # Accepted to say why: closed before accept, a browser sees 1006,
            # and the page's client would keep retrying instead of stopping.
            await self.accept()
            await self.close(code=int(CloseCode.NOT_AUTHENTICATED))
            return
        limit = int(conf.get("MAX_EVENTS_SOCKETS_PER_USER"))
        if not events_sockets().take(self.user.pk, limit):
            # Accepted only to say why: a close before accept reaches a browser
            # as a bare 1006. 4510 is retried, with backoff, by every client.
            await self.accept()
            # An int: Autobahn refuses an IntEnum as a close code, and the socket
            # would end with 1006 instead.
            await self.close(
                code=int(CloseCode.TOO_MANY_CONNECTIONS),
                reason="too many of your connections are open",
            )
            return
        self.counted = True
        self.user_group = messages.notifications_group_name(self.user.pk)
        try:
            await self.channel_layer.group_add(self.user_group, self.channel_name)
            await self.accept()
        except BaseException:
            # No disconnect follows a connect that raised: the place is given back here.
            self.counted = False
            events_sockets().release(self.user.pk)
            raise

    async def disconnect(self, code: int) -> None:
        """Leave every group joined, and give back the socket's place in the count."""
        if getattr(self, "counted", False):
            self.counted = False
            events_sockets().release(self.user.pk)
        if getattr(self, "user_group", None):
            await self.channel_layer.group_discard(self.user_group, self.channel_name)
        for group in getattr(self, "documents", {}):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Only subscriptions; anything else closes the socket."""
        now = time.monotonic()
        self.frames = [t for t in self.frames if now - t < 60] + [now]
        if len(self.frames) > MAX_FRAMES_PER_MINUTE:
            await self.close(code=int(CloseCode.RATE_LIMITED))
            return
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self.close(code=int(CloseCode.BAD_FRAME))
            return
        try:
            message = json.loads(text_data)
            document_id = UUID(str(message["subscribe"]))
        except (ValueError, KeyError, TypeError):
            await self.close(code=int(CloseCode.BAD_FRAME))
            return
        await self._subscribe(document_id)

    async def _subscribe(self, document_id: UUID) -> None:
        group = messages.comments_group_name(document_id)
        document, role = await readers.read(document_role, self.user, document_id)
        if document is None or role is None:
            await self._send({"type": "error", "document": str(document_id), "error": "not found"})
            return
        if group not in self.documents:
            if len(self.documents) >= MAX_SUBSCRIPTIONS:
                await self._send({"type": "error", "error": "too many subscriptions"})
                return
            self.documents[group] = document_id
            await self.channel_layer.group_add(group, self.channel_name)
        await self._send({"type": "subscribed", "document": str(document_id), "role": role.value})

    async def _send(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload))

    # -- channel-layer handlers (messages.py) -----------------------------------

    async def comments_thread(self, message: dict[str, Any]) -> None:
        """A thread changed or was removed on a subscribed document."""
        await self._send(
            {
                "type": "thread",
                "document": message["document_id"],
                "id": message["thread_id"],
                "thread": message["thread"],
            }
        )

    async def comments_access(self, message: dict[str, Any]) -> None:
        """Someone's role changed; ours is checked again, and a removal unsubscribes."""
        if message["user_id"] == self.user.pk:
            await self._check_access(UUID(message["document_id"]))

    async def comments_closed(self, message: dict[str, Any]) -> None:
        """The document was trashed or deleted: nobody may follow it any more.

        The role is read again rather than assumed gone: a restore may have
        come first, and then the page keeps its subscription.
        """
        await self._check_access(UUID(message["document_id"]))

    async def _check_access(self, document_id: UUID) -> None:
        group = messages.comments_group_name(document_id)
        if group not in self.documents:
            return
        document, role = await readers.read(document_role, self.user, document_id)
        if document is None or role is None:
            del self.documents[group]
            await self.channel_layer.group_discard(group, self.channel_name)
        state = role.value if document is not None and role is not None else None
        await self._send({"type": "access", "document": str(document_id), "role": state})

    async def notification_created(self, message: dict[str, Any]) -> None:
        """A new notification for this user."""
        await self._send({"type": "notification", "notification": message["notification"]})

    async def session_ended(self, message: dict[str, Any]) -> None:
        """A logout, a new password or a disabled account: as the Yjs socket, close with 4401."""
        session = self.scope.get("session")
        mine = getattr(session, "session_key", None)
        if message.get("session_key") in (None, mine):
            await self.close(code=int(CloseCode.NOT_AUTHENTICATED))

    async def notification_read(self, message: dict[str, Any]) -> None:
        """The user read notifications in another tab."""
        await self._send({"type": "notifications-read"})
