"""A room: one open document in one server process.

The room holds the document's committed content (a pycrdt Doc), the sequence
number up to which it delivered every update, the local connections, and the
document's awareness. It joins the document's Channels group once for the
whole process, so an update costs one channel-layer message per process, not
one per editor; local editors are served directly.

Every update reaches editors through one task (`_run`): updates this process
committed, and updates other processes announced on the group. Two processes'
commits to one document reach each other in any order, so an announced update
ahead of the sequence waits (GAP_WAIT_SECONDS) for the ones before it (it may
build on them); a gap still open then means the channel layer dropped
something, and the room reads the missing updates from the database before
going on. An update this process committed builds only on what the room holds
already (it was accepted against that), so it goes to the editors at once,
ahead of the gap: `last_seq` stays the end of the unbroken sequence delivered.
Reading every reordering from the database had queued those reads behind the
commits and put seconds on every edit with 1,000 editors on two processes.
Heartbeats carry each process's last sequence too, so a dropped final update
is healed within a heartbeat.

The channel-layer side (the room's channel and group membership, heartbeats,
sends to the other processes, who-is-online, surviving a layer outage) is in
`peers.py`: heartbeats go to the whole group, so every process with the
document open learns of every other within one beat; updates and awareness
then go straight to those peers' channels, so a process alone with a document
sends nothing to the channel layer per keystroke. A peer that opened the
document a moment ago and was missed, or a layer that failed for a while, heals
from the database.

Which of an editor's updates the room accepts, and what it stores of them
(the shadow, updates awaiting commit, updates waiting for what they build on),
is in `acceptance.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from uuid import UUID

from channels.layers import BaseChannelLayer
from pycrdt import Doc, get_state

from documents import conf, metrics
from documents.presence.relay import AwarenessRelay
from documents.realtime import messages, protocol
from documents.realtime.acceptance import Acceptance, InvalidUpdate, OutOfSync
from documents.realtime.acceptance import MissingDependencies as MissingDependencies
from documents.realtime.close_codes import CloseCode
from documents.realtime.peers import Peers
from documents.realtime.text_mirror import TextMirror
from documents.realtime.title_mirror import TitleMirror
from documents.realtime.writer import Writer
from documents.storage import background, crdt, store

logger = logging.getLogger(__name__)


class Connection(Protocol):
    """What a room needs from a local editor's socket."""

    user_id: int | None
    identity: dict[str, Any]

    def write_frame(self, frame: bytes) -> bool:
        """Write `frame` to the socket now if it can be (False: use `send_frame`)."""
        ...

    async def send_frame(self, frame: bytes) -> None: ...

    async def end(self, code: int, reason: str) -> None: ...

    async def reject(self, code: int, reason: str) -> None: ...


class DocumentTooLarge(ValueError):
    """Accepting the update would take the document past its size limit."""


def validate_update(update: bytes) -> None:
    """Raise InvalidUpdate unless pycrdt can decode the whole update.

    Decoding it for its state vector reads every struct and the delete set.
    That is only the first check (a room then applies the update to its
    shadow): it turns garbage away before it can damage the shadow and cost
    a rebuild of it.
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


@dataclass(frozen=True, slots=True)
class _CatchUp:
    """The channel layer failed for a while: anything may have been missed."""


@dataclass(frozen=True, slots=True)
class _GapWaited:
    """The wait for updates missing from the sequence is over."""


_Event = _Committed | _Announced | _Behind | _CatchUp | _GapWaited


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
        self._early: dict[int, _Committed | _Announced] = {}  # ahead of the sequence, by seq
        self._ahead: set[int] = set()  # delivered ahead of the sequence (our own commits)
        self._known = 0  # the highest sequence number known to be committed
        self._gap_timer: asyncio.TimerHandle | None = None
        self._on_idle = on_idle
        self._inbox: asyncio.Queue[_Event] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle_handle: asyncio.TimerHandle | None = None
        self._title: TitleMirror | None = None
        self._text: TextMirror | None = None
        self.closed = False
        self._acceptance = Acceptance(document_id, lambda: self.doc.get_update(), self._submit)

    @cached_property
    def peers(self) -> Peers:
        """The other processes with the document open, through the channel layer."""
        return Peers(self.document_id, self.layer, self.awareness, self)

    # -- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        """Join the group, then load: nothing committed in between can be missed."""
        self.channel = self.awareness.channel = await self.peers.join()
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
        self._text = TextMirror(self.document_id, self.doc)
        self._tasks.append(asyncio.create_task(self._run()))
        await self.peers.start()

    async def close(self) -> None:
        """Leave the group and stop; peers elsewhere drop this process's users."""
        if self.closed:
            return
        self.closed = True
        self._acceptance.close()
        if self._title is not None:
            await self._title.close()
        if self._text is not None:
            await self._text.close()
        if self._idle_handle:
            self._idle_handle.cancel()
        if self._gap_timer:
            self._gap_timer.cancel()
        await self.awareness.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.peers.close()

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
        self._acceptance.forget(conn)
        await self.awareness.left(conn)
        await self._publish_online()
        if not self.connections and not self.closed:
            self._idle_handle = asyncio.get_running_loop().call_later(
                conf.get("ROOM_IDLE_SECONDS"), self._on_idle, self
            )

    # -- messages from local editors -------------------------------------------

    async def sync_step1(self, conn: Connection, state_vector: bytes) -> None:
        """Answer with exactly the committed content the editor lacks."""
        if self._acceptance.has_waiting(conn):
            raise OutOfSync("updates wait for content this editor has not sent")
        with crdt.failures_as(lambda _: InvalidUpdate("state vector cannot be decoded")):
            diff = self.doc.get_update(state_vector)
        await conn.send_frame(protocol.encode_sync_step2(diff))

    def update(
        self, conn: Connection, update: bytes, *, catch_up: bool = False
    ) -> asyncio.Future[int] | None:
        """Queue an editor's update for the next group commit; it is relayed once durable.

        `catch_up`: a sync step 2, which repeats much of what the document
        holds. The future resolves to its sequence number; None for an empty update.
        """
        validate_update(update)
        if update == store.EMPTY_UPDATE:
            return None
        if self.size + len(update) > conf.get("MAX_DOCUMENT_BYTES"):
            raise DocumentTooLarge(f"document would exceed {conf.get('MAX_DOCUMENT_BYTES')} bytes")
        change = self._acceptance.accept(conn, update, exact=catch_up)
        if change is None:
            return None  # it waits for what it builds on, or changes nothing
        future = self._submit(conn, change)
        self._acceptance.retry()
        return future

    def _submit(self, conn: Connection, change: bytes) -> asyncio.Future[int]:
        token = self._acceptance.pending(change)
        self.size += len(change)
        pending = store.Pending(self.document_id, change, conn.user_id)

        def committed(seq: int) -> None:
            self._acceptance.committed(token, seq, self.last_seq)
            self._inbox.put_nowait(_Committed(seq, change, conn))

        def failed() -> None:
            self.size = max(0, self.size - len(change))  # nothing of it was stored
            self._acceptance.failed(token)

        return self.writer.submit(pending, committed, failed)

    def _shadow_doc(self) -> Doc[Any]:
        # Tests compare the shadow with `doc`.
        return self._acceptance.shadow()

    def awareness_update(self, conn: Connection, entries: list[protocol.RawAwarenessEntry]) -> None:
        """Take the editor's own awareness states, stamped with its server-side identity."""
        self.awareness.local(conn, entries, conn.identity)

    async def query_awareness(self, conn: Connection) -> None:
        await conn.send_frame(self.awareness.frame() or protocol.encode_awareness(b"\x00"))

    def users(self) -> list[dict[str, Any]]:
        """Everyone connected to the document through this process."""
        return list({conn.identity["id"]: conn.identity for conn in self.connections}.values())

    async def _publish_online(self) -> None:
        await self.peers.publish_online()

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
        if isinstance(event, _CatchUp):
            await self._heal()
        elif isinstance(event, _Behind):
            if event.seq > self.last_seq:
                self._await_gap(event.seq)
        elif isinstance(event, _GapWaited):
            self._gap_timer = None
            if self._known > self.last_seq:
                await self._heal()
            if self._known > self.last_seq:
                self._await_gap(self._known)
        else:
            await self._deliver_in_order(event)
            if isinstance(event, _Committed):
                # Other processes need our update even when a heal here
                # already delivered it locally.
                await self._send_to_peers(
                    messages.document_update(event.seq, event.update, origin=self.channel)
                )

    async def _deliver_in_order(self, event: _Committed | _Announced) -> None:
        seq = event.seq
        if seq <= self.last_seq or seq in self._ahead:
            return
        if seq > self.last_seq + 1:
            self._await_gap(seq)
            if isinstance(event, _Committed):
                # Ours, and accepted on the shadow: everything it builds on is
                # in `doc` already, so its editors need not wait for the
                # updates before it to come from the other processes (with two
                # processes, one update in twenty, 20 ms at the median).
                await self._deliver_one(event)
            else:
                self._early[seq] = event  # it may build on what is missing
            return
        await self._deliver_one(event)
        await self._deliver_early()

    async def _deliver_one(self, event: _Committed | _Announced) -> None:
        self._apply(event.seq, event.update)
        sender = event.sender if isinstance(event, _Committed) else None
        await self._deliver(protocol.encode_sync_update(event.update), exclude=sender)

    async def _deliver_early(self) -> None:
        """Deliver what waited for the sequence to reach it, step over what went ahead of
        it, and forget what a heal delivered."""
        if not self._early and not self._ahead and self._gap_timer is None:
            return  # every update in order: the usual case, once per update
        while True:
            if self.last_seq + 1 in self._ahead:
                self._ahead.discard(self.last_seq + 1)
                self.last_seq += 1
            elif (event := self._early.pop(self.last_seq + 1, None)) is not None:
                await self._deliver_one(event)
            else:
                break
        for seq in [seq for seq in self._early if seq <= self.last_seq]:
            del self._early[seq]
        self._ahead = {seq for seq in self._ahead if seq > self.last_seq}
        if self._known <= self.last_seq and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _await_gap(self, seq: int) -> None:
        """Up to `seq` is committed: give the channel layer a moment to bring it."""
        self._known = max(self._known, seq)
        if self._gap_timer is None:
            self._gap_timer = asyncio.get_running_loop().call_later(
                conf.get("GAP_WAIT_SECONDS"), self._inbox.put_nowait, _GapWaited()
            )

    def _apply(self, seq: int, update: bytes) -> None:
        """Apply a committed update to `doc`, and keep the shadow in step."""
        if seq == self.last_seq + 1:
            self.last_seq = seq
        else:
            self._ahead.add(seq)
        applied = False
        if update != store.EMPTY_UPDATE:  # empty: a quarantined entry, as a heal reads it
            with crdt.failures_logged(
                logger, "room %s could not apply committed update %d", self.document_id, seq
            ):
                self.doc.apply_update(update)
                applied = True
            if self._text is not None:
                self._text.changed()
        self._acceptance.applied(seq, update, applied)

    async def _heal(self) -> None:
        """Catch up from the database, the source of truth."""
        rows = await self.writer.run(store.updates_after, self.document_id, self.last_seq)
        if rows is None:
            # Compaction folded the missing updates into a snapshot: merge it.
            loaded = await background.run(store.load, self.document_id)
            before = self.doc.get_state()
            with crdt.failures_logged(
                logger, "room %s could not apply its stored content", self.document_id
            ):
                self.doc.apply_update(loaded.update)
            if self._text is not None:
                self._text.changed()
            self.last_seq = max(self.last_seq, loaded.last_seq)
            self._acceptance.reset_after_snapshot(self.last_seq)
            self.size = loaded.size
            self.healed += 1
            metrics.GAP_HEALS.inc()
            await self._deliver(protocol.encode_sync_update(self.doc.get_update(before)))
            await self._deliver_early()
            return
        for seq, update in rows:
            if seq <= self.last_seq:
                continue
            if seq in self._ahead:  # delivered already, ahead of the gap
                self._ahead.discard(seq)
                self.last_seq = seq
                continue
            self._apply(seq, update)
            self.healed += 1
            metrics.GAP_HEALS.inc()
            if update != store.EMPTY_UPDATE:
                await self._deliver(protocol.encode_sync_update(update))
        await self._deliver_early()

    async def _deliver(self, frame: bytes, exclude: Connection | None = None) -> None:
        for conn in list(self.connections):
            if conn is exclude:
                continue
            try:
                # Most sockets take it at once: no coroutine per editor.
                if not conn.write_frame(frame):
                    await conn.send_frame(frame)
            except Exception:
                # The socket is closing; its consumer is about to leave the room.
                logger.debug("room %s could not send to a connection", self.document_id)

    # -- the channel layer (documents/realtime/peers.py) -----------------------

    async def _send_to_peers(self, message: messages.Message) -> None:
        await self.peers.send_to_peers(message)

    # What the peers tell the room:

    def peer_update(self, seq: int, update: bytes) -> None:
        self._inbox.put_nowait(_Announced(seq, update))

    def peer_ahead(self, seq: int) -> None:
        if seq > self.last_seq:
            self._inbox.put_nowait(_Behind(seq))

    def layer_back(self) -> None:
        self._inbox.put_nowait(_CatchUp())

    async def deliver_local(self, frame: bytes) -> None:
        await self._deliver(frame)

    async def access_changed(self, user_id: int, role: str | None) -> None:
        """A user's role changed: reconnect them under the new one, or cut them off."""
        if role is None:
            code, reason = CloseCode.FORBIDDEN, "your access to this document was removed"
        else:
            code, reason = CloseCode.ACCESS_CHANGED, f"your role is now {role}"
        for conn in [c for c in self.connections if c.user_id == user_id]:
            await self.leave(conn)
            await conn.end(code, reason)

    async def session_ended(self, user_id: int, session_key: str | None) -> None:
        """A user signed out (one session) or lost every session: close those sockets."""
        for conn in [c for c in self.connections if c.user_id == user_id]:
            # A connection without a session key (none in its scope) is ended
            # with every session of its user, never spared.
            if session_key is None or getattr(conn, "session_key", None) in (session_key, None):
                await self.leave(conn)
                await conn.end(CloseCode.NOT_AUTHENTICATED, "you were signed out")

    async def document_deleted(self) -> None:
        for conn in list(self.connections):
            await self.leave(conn)
            await conn.end(CloseCode.NOT_FOUND, "the document was deleted")
