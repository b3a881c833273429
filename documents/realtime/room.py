"""A room: one open document in one server process.

The room holds the document's committed content (a pycrdt Doc), the sequence
number of the last update it delivered, the local connections, and the
document's awareness. It joins the document's Channels group once for the
whole process, so an update costs one channel-layer message per process, not
one per editor; local editors are served directly.

Every update reaches editors in sequence order through one task (`_run`):
updates this process committed, and updates other processes announced on the
group. A jump in the sequence means the channel layer dropped something; the
room reads the missing updates from the database before going on. Heartbeats
carry each process's last sequence too, so a dropped final update is healed
within a heartbeat.

Heartbeats go to the whole group, so every process with the document open
learns of every other within one beat. Updates and awareness then go straight
to those peers' channels: a process alone with a document sends nothing to the
channel layer per keystroke, and none receives its own messages back. A peer
that opened the document a moment ago and was missed heals from the database
on the next heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer
from pycrdt import Doc, get_state

from documents import conf
from documents.presence import online as presence_registry
from documents.presence.relay import AwarenessRelay
from documents.realtime import messages, protocol
from documents.realtime.close_codes import CloseCode
from documents.realtime.title_mirror import TitleMirror
from documents.realtime.writer import Writer
from documents.storage import background, crdt, store

logger = logging.getLogger(__name__)

ONLINE_REFRESH_BEATS = 4  # who-is-online is renewed every few heartbeats (and on every change)


class Connection(Protocol):
    """What a room needs from a local editor's socket."""

    user_id: int | None
    identity: dict[str, Any]

    async def send_frame(self, frame: bytes) -> None: ...

    async def end(self, code: int, reason: str) -> None: ...


class InvalidUpdate(ValueError):
    """An update pycrdt cannot decode."""


class DocumentTooLarge(ValueError):
    """Accepting the update would take the document past its size limit."""


def validate_update(update: bytes) -> None:
    """Raise InvalidUpdate unless pycrdt can decode the whole update.

    Decoding it for its state vector reads every struct and the delete set,
    without building a throwaway Doc on every keystroke.
    """
    with crdt.failures_as(InvalidUpdate):
        get_state(update)


@dataclass(frozen=True, slots=True)
class _Committed:
    seq: int
    update: bytes
    sender: Connection | None


@dataclass(frozen=True, slots=True)
class _Announced:
    seq: int
    update: bytes


@dataclass(frozen=True, slots=True)
class _Behind:
    seq: int  # another process has delivered up to here


_Event = _Committed | _Announced | _Behind


class Room:
    def __init__(
        self,
        document_id: UUID,
        layer: BaseChannelLayer,
        writer: Writer,
        on_idle: Callable[[Room], None],
    ) -> None:
        self.document_id = document_id
        self.group = messages.group_name(document_id)
        self.layer = layer
        self.writer = writer
        self.doc: Doc[Any] = Doc()
        self.last_seq = 0
        self.size = 0
        self.connections: set[Connection] = set()
        self.awareness = AwarenessRelay(self._deliver, self._send_to_peers)
        self.channel = ""
        self.healed = 0
        self._on_idle = on_idle
        self._inbox: asyncio.Queue[_Event] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle_handle: asyncio.TimerHandle | None = None
        self._title: TitleMirror | None = None
        self.closed = False

    # -- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        """Join the group, then load: nothing committed in between can be missed."""
        # The default prefix matters: channels_redis serves every process-local
        # channel from one shared list, named after that prefix.
        self.channel = self.awareness.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self._tasks.append(asyncio.create_task(self._listen()))
        try:
            loaded = await background.run(store.load_doc, self.document_id)
        except BaseException:
            await self.close()
            raise
        self.doc = loaded.doc
        self.last_seq = loaded.last_seq
        self.size = loaded.size
        if loaded.last_seq - loaded.snapshot_seq >= conf.get("COMPACT_AFTER_UPDATES"):
            # A long log means a compaction failed or fell behind; the next
            # cold open should not pay for it again.
            self.writer.compact_soon(self.document_id)
        self._title = TitleMirror(self.document_id, self.doc)
        self._tasks.append(asyncio.create_task(self._run()))
        self._tasks.append(asyncio.create_task(self._heartbeat()))
        await self._group_send(messages.room_hello(self.channel))

    async def close(self) -> None:
        """Leave the group and stop; peers elsewhere drop this process's users."""
        if self.closed:
            return
        self.closed = True
        if self._title is not None:
            await self._title.close()
        if self._idle_handle:
            self._idle_handle.cancel()
        await self.awareness.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.channel:
            try:
                await presence_registry.withdraw(self.document_id, self.channel)
                await self._group_send(messages.room_bye(self.channel))
                await self.layer.group_discard(self.group, self.channel)
            except Exception:
                logger.warning("room %s left its group uncleanly", self.document_id, exc_info=True)

    async def join(self, conn: Connection) -> None:
        """Greet a new editor: our state vector, then everyone's awareness."""
        if self._idle_handle:
            self._idle_handle.cancel()
            self._idle_handle = None
        self.connections.add(conn)
        await conn.send_frame(protocol.encode_sync_step1(self.doc.get_state()))
        everyone = self.awareness.frame()
        if everyone:
            await conn.send_frame(everyone)
        # After the greeting: the editor should not wait on Redis for it.
        await self._publish_online()

    async def leave(self, conn: Connection) -> None:
        """Tell everyone at once that the editor's carets are gone."""
        self.connections.discard(conn)
        await self.awareness.left(conn)
        await self._publish_online()
        if not self.connections and not self.closed:
            self._idle_handle = asyncio.get_running_loop().call_later(
                conf.get("ROOM_IDLE_SECONDS"), self._on_idle, self
            )

    # -- messages from local editors -------------------------------------------

    async def sync_step1(self, conn: Connection, state_vector: bytes) -> None:
        """Answer with exactly the committed content the editor lacks."""
        with crdt.failures_as(lambda _: InvalidUpdate("state vector cannot be decoded")):
            diff = self.doc.get_update(state_vector)
        await conn.send_frame(protocol.encode_sync_step2(diff))

    def update(self, conn: Connection, update: bytes) -> asyncio.Future[int] | None:
        """Queue an editor's update for the next group commit; it is relayed once durable.

        The future resolves to its sequence number; None for an empty update.
        """
        validate_update(update)
        if update == store.EMPTY_UPDATE:
            return None
        if self.size + len(update) > conf.get("MAX_DOCUMENT_BYTES"):
            raise DocumentTooLarge(f"document would exceed {conf.get('MAX_DOCUMENT_BYTES')} bytes")
        self.size += len(update)
        pending = store.Pending(self.document_id, update, conn.user_id)
        return self.writer.submit(
            pending, lambda seq: self._inbox.put_nowait(_Committed(seq, update, conn))
        )

    def awareness_update(self, conn: Connection, payload: bytes) -> None:
        """Take the editor's own awareness states, stamped with its server-side identity."""
        self.awareness.local(conn, payload, conn.identity)

    async def query_awareness(self, conn: Connection) -> None:
        await conn.send_frame(self.awareness.frame() or protocol.encode_awareness(b"\x00"))

    def users(self) -> list[dict[str, Any]]:
        """Everyone connected to the document through this process."""
        return list({conn.identity["id"]: conn.identity for conn in self.connections}.values())

    async def _publish_online(self) -> None:
        try:
            if self.connections:
                await presence_registry.publish(
                    self.document_id, self.channel, self.users(), len(self.connections)
                )
            else:
                await presence_registry.withdraw(self.document_id, self.channel)
        except Exception:
            logger.warning(
                "room %s could not publish who is online", self.document_id, exc_info=True
            )

    async def _withdraw_online(self, origin: str) -> None:
        try:
            await presence_registry.withdraw(self.document_id, origin)
        except Exception:
            logger.warning("room %s could not withdraw %s", self.document_id, origin, exc_info=True)

    # -- ordered delivery -----------------------------------------------------

    async def _run(self) -> None:
        while True:
            event = await self._inbox.get()
            # Cancellation ends the loop; anything else, a pycrdt panic
            # included, must not stop delivery for everyone.
            with crdt.failures_logged(
                logger, "room %s failed to handle %s", self.document_id, type(event).__name__
            ):
                await self._handle(event)

    async def _handle(self, event: _Event) -> None:
        if isinstance(event, _Behind):
            if event.seq > self.last_seq:
                await self._heal()
        else:
            await self._deliver_in_order(event)
            if isinstance(event, _Committed):
                # Other processes need our update even when a heal here
                # already delivered it locally.
                await self._send_to_peers(
                    messages.document_update(event.seq, event.update, origin=self.channel)
                )

    async def _deliver_in_order(self, event: _Committed | _Announced) -> None:
        if event.seq <= self.last_seq:
            return
        if event.seq > self.last_seq + 1:
            await self._heal()
            if event.seq <= self.last_seq:
                return
        self._apply(event.seq, event.update)
        sender = event.sender if isinstance(event, _Committed) else None
        await self._deliver(protocol.encode_sync_update(event.update), exclude=sender)

    def _apply(self, seq: int, update: bytes) -> None:
        with crdt.failures_logged(
            logger, "room %s could not apply committed update %d", self.document_id, seq
        ):
            self.doc.apply_update(update)
        self.last_seq = seq

    async def _heal(self) -> None:
        """Catch up from the database, the source of truth."""
        rows = await database_sync_to_async(store.updates_after)(self.document_id, self.last_seq)
        if rows is None:
            # Compaction folded the missing updates into a snapshot: merge it.
            loaded = await database_sync_to_async(store.load)(self.document_id)
            before = self.doc.get_state()
            self.doc.apply_update(loaded.update)
            self.last_seq = max(self.last_seq, loaded.last_seq)
            self.size = loaded.size
            self.healed += 1
            await self._deliver(protocol.encode_sync_update(self.doc.get_update(before)))
            return
        for seq, update in rows:
            if seq <= self.last_seq:
                continue
            self._apply(seq, update)
            self.healed += 1
            await self._deliver(protocol.encode_sync_update(update))

    async def _deliver(self, frame: bytes, exclude: Connection | None = None) -> None:
        for conn in list(self.connections):
            if conn is exclude:
                continue
            try:
                await conn.send_frame(frame)
            except Exception:
                # The socket is closing; its consumer is about to leave the room.
                logger.debug("room %s could not send to a connection", self.document_id)

    # -- the channel layer ----------------------------------------------------

    async def _group_send(self, message: messages.Message) -> None:
        await self.layer.group_send(self.group, message)

    async def _send_to_peers(self, message: messages.Message) -> None:
        for peer in self.awareness.peers():
            try:
                await self.layer.send(peer, message)
            except Exception:
                # A full or unreachable channel: that peer heals from the
                # database when our next heartbeat shows it is behind.
                logger.warning("room %s could not reach %s", self.document_id, peer)

    async def _listen(self) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "document.update": self._on_document_update,
            "room.heartbeat": self._on_heartbeat,
            "room.hello": self._on_hello,
            "room.bye": self._on_bye,
            "presence.update": self._on_presence,
            "presence.states": self._on_presence,
            "document.access": self._on_access,
            "document.deleted": self._on_deleted,
        }
        while True:
            message = await self.layer.receive(self.channel)
            origin = message.get("origin")
            if origin == self.channel:
                continue
            handler = handlers.get(message.get("type", ""))
            if handler is None:
                logger.warning("room %s ignored message %r", self.document_id, message.get("type"))
                continue
            try:
                if (
                    origin
                    and self.awareness.heard_from(origin)
                    and message["type"] not in ("room.hello", "presence.states")
                ):
                    # A process we had given up on (or never met): ask for its
                    # users again rather than wait for their next change.
                    await self.layer.send(origin, messages.room_hello(self.channel))
                await handler(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("room %s failed on %s", self.document_id, message.get("type"))

    async def _on_document_update(self, message: dict[str, Any]) -> None:
        self._inbox.put_nowait(_Announced(message["seq"], message["update"]))

    async def _on_access(self, message: dict[str, Any]) -> None:
        """A user's role changed: reconnect them under the new one, or cut them off."""
        if message["role"] is None:
            code, reason = CloseCode.FORBIDDEN, "your access to this document was removed"
        else:
            code, reason = CloseCode.ACCESS_CHANGED, f"your role is now {message['role']}"
        for conn in [c for c in self.connections if c.user_id == message["user_id"]]:
            await self.leave(conn)
            await conn.end(code, reason)

    async def _on_deleted(self, message: dict[str, Any]) -> None:
        for conn in list(self.connections):
            await self.leave(conn)
            await conn.end(CloseCode.NOT_FOUND, "the document was deleted")

    async def _on_heartbeat(self, message: dict[str, Any]) -> None:
        if message["last_seq"] > self.last_seq:
            self._inbox.put_nowait(_Behind(message["last_seq"]))

    async def _on_hello(self, message: dict[str, Any]) -> None:
        await self.layer.send(message["origin"], self.awareness.local_states_message())

    async def _on_bye(self, message: dict[str, Any]) -> None:
        await self.awareness.forget(message["origin"])

    async def _on_presence(self, message: dict[str, Any]) -> None:
        self.awareness.remote(message["origin"], message["payload"])

    async def _heartbeat(self) -> None:
        interval = conf.get("HEARTBEAT_SECONDS")
        beats = 0
        while True:
            await asyncio.sleep(interval)
            beats += 1
            try:
                await self._group_send(messages.room_heartbeat(self.channel, self.last_seq))
                if beats % ONLINE_REFRESH_BEATS == 0:
                    await self._publish_online()
                if beats % 600 == 0:
                    # Group membership expires in the layer; renew it while open.
                    await self.layer.group_add(self.group, self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("room %s heartbeat failed", self.document_id, exc_info=True)
            for dead in await self.awareness.expire():
                # A process that died cannot withdraw its users from who is
                # online; whoever notices first does it for them. If it was only
                # slow, its next renewal puts them back.
                await self._withdraw_online(dead)
