"""The WebSocket consumer: one editor's socket on one document."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from uuid import UUID

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError
from pycrdt import merge_updates

from documents import conf, metrics
from documents.models import Role
from documents.permissions import can_write
from documents.realtime import protocol
from documents.realtime.access import read_access
from documents.realtime.close_codes import CloseCode
from documents.realtime.rate_limit import TokenBucket
from documents.realtime.registry import RoomRegistry, registry
from documents.realtime.room import DocumentTooLarge, InvalidUpdate, OutOfSync, Room
from documents.realtime.wire import SCOPE_KEY as WIRE
from documents.realtime.wire import Wire
from documents.storage import crdt, store
from editor_project import logs

logger = logging.getLogger(__name__)


MAX_IN_FLIGHT = 256  # updates from one socket queued for commit before it must wait
MAX_FRAMES_TOGETHER = 256  # frames of one socket taken from its queue at once
REJECT_DRAIN_SECONDS = 5.0  # how long a closing socket waits for its accepted updates to commit
# RFC 6455: a close frame's payload is at most 125 bytes, two of them the code.
MAX_REASON_BYTES = 123


def _frame_of(message: dict[str, Any]) -> bytes | None:
    """A received frame's bytes; None for a text frame."""
    return message.get("bytes") if message.get("text") is None else None


def close_reason(reason: str) -> str:
    """`reason` as a close frame can carry it: valid UTF-8, at most 123 bytes.

    Reasons quote client input (a decoder's complaint about a frame); a lone
    surrogate in one would make the close itself raise.
    """
    encoded = reason.encode("utf-8", errors="replace")[:MAX_REASON_BYTES]
    return encoded.decode("utf-8", errors="ignore")  # drops a character cut in half


class DocumentConsumer(AsyncWebsocketConsumer):
    """Authorize, join the document's room, and hand it each decoded frame."""

    def __init__(self, *args: Any, rooms: RoomRegistry | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tests pass a registry to stand in for a second server process.
        self.rooms = rooms or registry()
        self.room: Room | None = None
        self.role: Role | None = None
        self.user_id: int | None = None
        # Which login session opened the socket: signing out ends only its sockets.
        self.session_key: str | None = None
        self.identity: dict[str, Any] = {}
        self.wire: Wire | None = None
        self._updates = TokenBucket(conf.get("MAX_UPDATES_PER_SECOND"))
        # Awareness costs a parse and a relay to everyone; a flood of it would
        # cost every editor of the document, so it is metered too.
        self._awareness = TokenBucket(conf.get("MAX_AWARENESS_PER_SECOND"))
        self._step1 = TokenBucket(conf.get("MAX_SYNC_STEP1_PER_SECOND"))
        self._in_flight: set[asyncio.Future[int]] = set()
        self._closing = False
        self._closer: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Channels' ASGI loop without a channel-layer channel of the socket's own.

        Channels gives each consumer a channel and waits on it beside the
        socket. Nothing is ever sent to it here (rooms listen on their own),
        and an error from it (Redis restarting) ended the socket with 1011
        without `disconnect`, leaving it counted in its room for good. However
        the loop ends, the socket leaves its room.
        """
        self.scope = scope
        self.channel_layer = None
        self.channel_name = ""
        # Under Daphne: the connection itself, for the room's frames (wire.py).
        self.wire = wire = scope.get(WIRE)
        if wire is None:
            self.base_send = send
        else:

            async def send_after_held_frames(message: dict[str, Any]) -> None:
                wire.flush()  # frames the wire holds for its next turn go first
                await send(message)

            self.base_send = send_after_held_frames
        # This task's log lines (refusals, closes, errors) carry the socket's id.
        self.socket_id = logs.bind_socket()
        # The socket's own queue of frames (Daphne's, and the test
        # communicator's): what waits in it is taken together (receive_frames).
        queued = getattr(receive, "__self__", None)
        if not isinstance(queued, asyncio.Queue):
            queued = None
        try:
            while True:
                message = await receive()
                if queued is None or queued.empty() or message["type"] != "websocket.receive":
                    await self.dispatch(message)
                else:
                    await self._receive_queued(message, queued)
        except StopConsumer:
            pass  # websocket_disconnect ran `disconnect` already
        finally:
            # Shielded: a consumer cancelled on shutdown still leaves its room.
            # 1006: the socket ended without a close we saw.
            await asyncio.shield(self.disconnect(1006))

    async def _receive_queued(self, first: dict[str, Any], queued: asyncio.Queue[Any]) -> None:
        """`first` and the frames queued behind it, then what ended the run (a disconnect)."""
        frames = [_frame_of(first)]
        after = None
        while len(frames) < MAX_FRAMES_TOGETHER and not queued.empty():
            message = queued.get_nowait()
            if message["type"] != "websocket.receive":
                after = message
                break
            frames.append(_frame_of(message))
        await self.receive_frames(frames)
        if after is not None:
            await self.dispatch(after)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Hand every message straight to its handler.

        Channels' own dispatch first closes stale database connections through
        the ORM's one worker thread, so every frame and every connect would
        queue there (100 editors opening a document at once waited in line).
        This consumer reads and writes on threads of its own (the readers, the
        writer, `background`), which do that housekeeping themselves.
        """
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        """Refuse before joining anything; otherwise accept and greet."""
        document_id = UUID(self.scope["url_route"]["kwargs"]["document_id"])
        try:
            # The user, their role, and (for a member) how they look, whose
            # caret colour is read from their profile: two statements, batched
            # with the other sockets arriving now (realtime/access.py).
            user, document, role, self.identity = await read_access(self.scope, document_id)
        except DatabaseError:
            logger.warning("document=%s: no database to check access", document_id, exc_info=True)
            await self.accept()
            return await self._close(CloseCode.SERVER_ERROR, "server busy, try again")
        self.user_id = user.pk
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        if not user.is_authenticated:
            return await self._refuse(CloseCode.NOT_AUTHENTICATED, "log in to open documents")
        if document is None or role is None:
            # As over HTTP: a stranger cannot tell a document they may not see
            # from one that does not exist (4403 is for access removed later).
            return await self._refuse(CloseCode.NOT_FOUND, "no such document")
        self.role = role
        crowding = await self.rooms.crowding(document_id, user.pk, can_write(role))
        if crowding == "user":
            return await self._refuse(
                CloseCode.TOO_MANY_CONNECTIONS, "too many of your connections are open"
            )
        if crowding == "document":
            return await self._refuse(CloseCode.ROOM_FULL, "too many editors on this document")
        await self.accept()
        try:
            self.room = await self.rooms.join(document_id, self)
        except Exception:
            # Unreadable data, or a database or Redis that is away: either way
            # a later attempt may succeed, and the client keeps its edits.
            logger.exception("document=%s could not be loaded", document_id)
            room = self.rooms.rooms.get(document_id)
            if room is not None and self in room.connections:
                await room.leave(self)  # the greeting failed after the room counted us
            await self._close(CloseCode.SERVER_ERROR, "document could not be loaded right now")

    async def _refuse(self, code: CloseCode, reason: str) -> None:
        # A close before accept reaches the browser as a bare HTTP 403; accept
        # only to say why, in the protocol's own permission-denied message.
        logger.info("refused socket code=%d reason=%s path=%s", code, reason, self.scope["path"])
        await self.accept()
        self._closing = True
        await self.send(bytes_data=protocol.encode_permission_denied(reason))
        await self._close(code, reason)

    async def _close(self, code: int, reason: str) -> None:
        """Close with a code and reason Autobahn accepts; a failure is logged, never raised."""
        self._closing = True
        metrics.socket_closed(code)
        try:
            await self.close(int(code), close_reason(reason))
        except Exception:
            logger.exception("could not close socket code=%d path=%s", code, self.scope["path"])
            with contextlib.suppress(Exception):
                await self.close()  # plain 1000: still better than a socket left open

    async def _leave_room(self) -> None:
        """Give up this socket's place in its room, once; `disconnect` then finds none."""
        if self.room is not None:
            room, self.room = self.room, None
            try:
                await room.leave(self)
            except Exception:
                logger.exception("socket path=%s left its room uncleanly", self.scope["path"])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """One frame (a text frame is refused)."""
        await self.receive_frames([bytes_data])

    async def receive_frames(self, frames: list[bytes | None]) -> None:
        """Decode frames in order and hand them to the room; bad input closes this socket only.

        None stands for a text frame. Consecutive updates from an editor go
        to the room as one (`_submit_updates`).
        """
        updates: list[bytes] = []
        try:
            for frame in frames:
                if self._closing:
                    return  # frames already in flight when we decided to close
                if frame is None:
                    # Whoever sends it, in whatever role: not the protocol.
                    await self._submit_updates(updates)
                    return await self._reject(CloseCode.UNSUPPORTED_DATA, "binary frames only")
                if self.room is None:
                    return
                if len(frame) > conf.get("MAX_FRAME_BYTES"):
                    await self._submit_updates(updates)
                    return await self._reject(CloseCode.TOO_LARGE, "frame too large")
                try:
                    message = protocol.decode(frame)
                except protocol.ProtocolError:
                    await self._submit_updates(updates)  # what came before it stands
                    raise
                if type(message) is protocol.SyncUpdate and can_write(self.role):
                    if not self._updates.take():
                        await self._submit_updates(updates)
                        return await self._reject(
                            CloseCode.RATE_LIMITED, "too many updates per second"
                        )
                    updates.append(message.update)
                    continue
                await self._submit_updates(updates)
                updates.clear()
                await self._dispatch(message)
            await self._submit_updates(updates)
        except protocol.ProtocolError as exc:
            await self._reject(CloseCode.BAD_FRAME, f"bad frame: {exc}")
        except OutOfSync as exc:
            # Our step 2 would claim its waiting updates are saved; a reconnect
            # starts the sync over, and the client resends what we lack.
            await self._reject(CloseCode.OUT_OF_SYNC, f"out of sync: {exc}")
        except InvalidUpdate as exc:
            await self._reject(CloseCode.INVALID_UPDATE, f"invalid update: {exc}")
        except DocumentTooLarge as exc:
            await self._reject(CloseCode.TOO_LARGE, str(exc))

    async def _submit_updates(self, updates: list[bytes]) -> None:
        """Hand an editor's consecutive updates to the room, merged into one when they can be.

        A client typing faster than the server turns around leaves many
        updates queued, and each costs the same fixed work whatever its size
        (the shadow, a row, the room's apply, a frame to every editor). Merged
        (pycrdt's `merge_updates`, the content of applying them in turn) they
        cost it once. If the merge or the merged update fails, they are taken
        one by one, so the one at fault is refused and those before it stand.
        """
        if len(updates) > 1:
            try:
                with crdt.failures_as(InvalidUpdate):
                    merged = merge_updates(*updates)
                await self._submit_update(merged)
                return
            except (InvalidUpdate, DocumentTooLarge):
                pass
        for update in updates:
            await self._submit_update(update)

    async def _submit_update(self, update: bytes, *, catch_up: bool = False) -> None:
        room = self.room
        assert room is not None
        # Not awaited: the next frame can join the same group commit. The
        # cap on updates in flight is the backpressure.
        pending = room.update(self, update, catch_up=catch_up)
        if pending is not None:
            self._in_flight.add(pending)
            pending.add_done_callback(self._on_committed)
            if len(self._in_flight) >= MAX_IN_FLIGHT:
                await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)

    async def _dispatch(self, message: protocol.Message) -> None:
        room = self.room
        assert room is not None
        if isinstance(message, protocol.SyncStep1):
            if not self._step1.take():
                await self._reject(CloseCode.RATE_LIMITED, "too many sync requests per second")
                return
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
            await self._submit_update(
                message.update, catch_up=isinstance(message, protocol.SyncStep2)
            )
        elif isinstance(message, protocol.AwarenessMessage | protocol.QueryAwareness):
            if not self._awareness.take():
                await self._reject(CloseCode.RATE_LIMITED, "too many awareness messages per second")
            elif isinstance(message, protocol.AwarenessMessage):
                room.awareness_update(self, message.entries)
            else:
                await room.query_awareness(self)
        # An auth message from a client means nothing to the server.

    def _on_committed(self, future: asyncio.Future[int]) -> None:
        self._in_flight.discard(future)
        if future.cancelled() or future.exception() is None:
            return
        if self._closing:
            return  # already on its way out: its client re-sends on reconnect
        # Decided here, not in the task: the socket's next frames build on the
        # update that was lost, and judged as such (a final 44xx) they would
        # stop the client for good, its edits with it.
        self._closing = True
        logger.error("update from user=%s not saved: %r", self.user_id, future.exception())
        # Silence would acknowledge it. A real close with a code the stock
        # provider retries makes it reconnect, and its sync step 2 then
        # carries every edit the database does not have.
        self._closer = asyncio.ensure_future(
            self._shut(CloseCode.SERVER_ERROR, "update could not be saved, reconnect")
        )
        self._closer.add_done_callback(self._closer_done)

    def _closer_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "closing socket path=%s after a failed commit failed",
                self.scope["path"],
                exc_info=task.exception(),
            )

    async def _reject(self, code: CloseCode, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        await self._shut(code, reason)

    async def _shut(self, code: CloseCode, reason: str) -> None:
        """Close a socket already marked closing (its frames are dropped from now on)."""
        logger.warning(
            "closing socket code=%d user=%s path=%s: %s",
            code,
            self.user_id,
            self.scope["path"],
            close_reason(reason),
        )
        try:
            if self._in_flight:
                # What this socket sent before the bad frame was accepted: let it
                # reach the database first, so the close code marks where it stands.
                await asyncio.wait(set(self._in_flight), timeout=REJECT_DRAIN_SECONDS)
        finally:
            # Not left to `disconnect`: a socket can end without one reaching
            # us, and its place in the room must not outlive it.
            await self._leave_room()
        await self._close(code, reason)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' own, without its trip to the ORM's worker thread (see `dispatch`);
        this consumer joins no Channels groups of its own."""
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code: int) -> None:
        """Leave the room; peers learn at once that this editor is gone.

        Safe to call more than once, and also when the socket never got as
        far as holding its room (a join that failed after the room counted it).
        """
        room, self.room = self.room, None
        room = room or self.rooms.holding(self)
        if room is None:
            return
        try:
            await room.leave(self)
        except Exception:
            # It is out of the room's count already (the first thing leave does).
            logger.exception("socket path=%s left its room uncleanly", self.scope["path"])

    def write_frame(self, frame: bytes) -> bool:
        """Called by the room: the frame written to this editor's connection now, if it can be."""
        return self.wire is not None and self.wire.write(frame)

    async def send_frame(self, frame: bytes) -> None:
        """Called by the room to deliver a frame to this editor."""
        if not self.write_frame(frame):
            await self.send(bytes_data=frame)

    async def reject(self, code: int, reason: str) -> None:
        """Called by the room to refuse what this editor sent: close with `code`."""
        await self._reject(CloseCode(code), reason)

    async def end(self, code: int, reason: str) -> None:
        """Called by the room (which has let us go) when access changed: say why, then close."""
        self.room = None
        self._closing = True
        try:
            await self.send(bytes_data=protocol.encode_permission_denied(close_reason(reason)))
        except Exception:
            logger.debug("socket path=%s gone before its refusal", self.scope["path"])
        await self._close(code, reason)
