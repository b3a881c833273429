"""The WebSocket consumer: one editor's socket on one document."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from documents import conf
from documents.identity import identity
from documents.models import Role
from documents.permissions import can_write, document_role
from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.realtime.rate_limit import TokenBucket
from documents.realtime.registry import RoomRegistry, registry
from documents.realtime.room import DocumentTooLarge, InvalidUpdate, Room
from documents.storage import store

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 256  # updates from one socket queued for commit before it must wait
REJECT_DRAIN_SECONDS = 5.0  # how long a closing socket waits for its accepted updates to commit


class DocumentConsumer(AsyncWebsocketConsumer):
    """Authorize, join the document's room, and hand it each decoded frame."""

    def __init__(self, *args: Any, rooms: RoomRegistry | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tests pass a registry to stand in for a second server process.
        self.rooms = rooms or registry()
        self.room: Room | None = None
        self.role: Role | None = None
        self.user_id: int | None = None
        self.identity: dict[str, Any] = {}
        self._updates = TokenBucket(conf.get("MAX_UPDATES_PER_SECOND"))
        # Awareness costs a parse and a relay to everyone; a flood of it would
        # cost every editor of the document, so it is metered too.
        self._awareness = TokenBucket(conf.get("MAX_AWARENESS_PER_SECOND"))
        self._in_flight: set[asyncio.Future[int]] = set()
        self._closing = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Hand frames straight to their handler.

        Channels' own dispatch first closes stale database connections through
        the ORM's one worker thread, so every frame would queue behind the
        commit in progress. Frames touch no database here; the writer's calls
        do that housekeeping themselves.
        """
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        """Refuse before joining anything; otherwise accept and greet."""
        user = self.scope["user"]
        self.user_id = user.pk
        if not user.is_authenticated:
            return await self._refuse(CloseCode.NOT_AUTHENTICATED, "log in to open documents")
        document_id = UUID(self.scope["url_route"]["kwargs"]["document_id"])
        document, role = await database_sync_to_async(document_role)(user, document_id)
        if document is None:
            return await self._refuse(CloseCode.NOT_FOUND, "no such document")
        if role is None:
            return await self._refuse(CloseCode.FORBIDDEN, "you have no access to this document")
        self.role = role
        self.identity = identity(user)
        if await self.rooms.is_full(document_id):
            return await self._refuse(CloseCode.ROOM_FULL, "too many editors on this document")
        await self.accept()
        try:
            self.room = await self.rooms.join(document_id, self)
        except store.LoadError:
            logger.exception("document=%s could not be loaded", document_id)
            await self.close(int(CloseCode.SERVER_ERROR), "document could not be loaded")

    async def _refuse(self, code: CloseCode, reason: str) -> None:
        # A close before accept reaches the browser as a bare HTTP 403; accept
        # only to say why, in the protocol's own permission-denied message.
        logger.info("refused socket code=%d reason=%s path=%s", code, reason, self.scope["path"])
        await self.accept()
        self._closing = True
        await self.send(bytes_data=protocol.encode_permission_denied(reason))
        await self.close(int(code), reason)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Decode one frame and hand it to the room; bad input closes this socket only."""
        if self.room is None or self._closing:
            return  # frames already in flight when we decided to close
        if bytes_data is None:
            return await self._reject(CloseCode.UNSUPPORTED_DATA, "binary frames only")
        if len(bytes_data) > conf.get("MAX_FRAME_BYTES"):
            return await self._reject(CloseCode.TOO_LARGE, "frame too large")
        try:
            message = protocol.decode(bytes_data)
            await self._dispatch(message)
        except protocol.ProtocolError as exc:
            await self._reject(CloseCode.BAD_FRAME, f"bad frame: {exc}")
        except InvalidUpdate as exc:
            await self._reject(CloseCode.INVALID_UPDATE, f"invalid update: {exc}")
        except DocumentTooLarge as exc:
            await self._reject(CloseCode.TOO_LARGE, str(exc))

    async def _dispatch(self, message: protocol.Message) -> None:
        room = self.room
        assert room is not None
        if isinstance(message, protocol.SyncStep1):
            if self._in_flight:
                # Our step 2 doubles as an acknowledgement: everything this
                # socket sent before its step 1 is committed when it arrives.
                await asyncio.wait(set(self._in_flight))
            await room.sync_step1(self, message.state_vector)
        elif isinstance(message, protocol.SyncStep2 | protocol.SyncUpdate):
            if not can_write(self.role):
                if message.update == store.EMPTY_UPDATE:
                    return  # a viewer's empty step 2 at connect writes nothing
                await self.send(bytes_data=protocol.encode_permission_denied("read-only access"))
                return
            if not self._updates.take():
                await self._reject(CloseCode.RATE_LIMITED, "too many updates per second")
                return
            # Not awaited: the next frame can join the same group commit. The
            # cap on updates in flight is the backpressure.
            pending = room.update(self, message.update)
            if pending is not None:
                self._in_flight.add(pending)
                pending.add_done_callback(self._on_committed)
                if len(self._in_flight) >= MAX_IN_FLIGHT:
                    await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        elif isinstance(message, protocol.AwarenessMessage | protocol.QueryAwareness):
            if not self._awareness.take():
                await self._reject(CloseCode.RATE_LIMITED, "too many awareness messages per second")
            elif isinstance(message, protocol.AwarenessMessage):
                room.awareness_update(self, message.payload)
            else:
                await room.query_awareness(self)
        # An auth message from a client means nothing to the server.

    def _on_committed(self, future: asyncio.Future[int]) -> None:
        self._in_flight.discard(future)
        if future.cancelled() or future.exception() is None:
            return
        logger.error("update from user=%s not saved: %r", self.user_id, future.exception())
        # The editor still holds the edit and resends it when it reconnects.
        self._closer = asyncio.ensure_future(
            self._reject(CloseCode.SERVER_ERROR, "update could not be saved")
        )

    async def _reject(self, code: CloseCode, reason: str) -> None:
        logger.warning(
            "closing socket code=%d user=%s path=%s: %s",
            code,
            self.user_id,
            self.scope["path"],
            reason,
        )
        if self._closing:
            return
        self._closing = True
        if self._in_flight:
            # What this socket sent before the bad frame was accepted: let it
            # reach the database first, so the close code marks where it stands.
            await asyncio.wait(set(self._in_flight), timeout=REJECT_DRAIN_SECONDS)
        await self.close(int(code), reason[:120])

    async def disconnect(self, code: int) -> None:
        """Leave the room; peers learn at once that this editor is gone."""
        if self.room is not None:
            room, self.room = self.room, None
            await room.leave(self)

    async def send_frame(self, frame: bytes) -> None:
        """Called by the room to deliver a frame to this editor."""
        await self.send(bytes_data=frame)

    async def end(self, code: int, reason: str) -> None:
        """Called by the room when access changed: say why, then close."""
        self.room = None
        self._closing = True
        await self.send(bytes_data=protocol.encode_permission_denied(reason))
        await self.close(int(code), reason)
