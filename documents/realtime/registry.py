"""The rooms open in this process: one registry per event loop, with a writer.

Opening a room loads the document once however many editors arrive at the
same moment; a room with nobody left closes after a grace period so a quick
reload does not pay for a cold open.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal
from uuid import UUID

from channels.layers import BaseChannelLayer, get_channel_layer

from documents import conf
from documents.per_loop import PerLoop
from documents.presence import online as presence_registry
from documents.realtime.room import Connection, Room
from documents.realtime.writer import Writer
from documents.storage import access_reads

logger = logging.getLogger(__name__)

# The cap a refused socket would have broken: its user's, or the document's.
Crowding = Literal["user", "document"]


class RoomRegistry:
    def __init__(self, layer: BaseChannelLayer | None = None) -> None:
        resolved = layer or get_channel_layer()
        if resolved is None:
            raise RuntimeError("CHANNEL_LAYERS has no default layer")
        self.layer = resolved
        self.writer = Writer()
        self.writer.on_compacted = self._compacted
        self.rooms: dict[UUID, Room] = {}
        self._opening: dict[UUID, asyncio.Future[Room]] = {}
        self._closing: dict[UUID, asyncio.Task[None]] = {}

    async def join(self, document_id: UUID, conn: Connection) -> Room:
        """The document's room, opened if needed, with `conn` in it."""
        room = await self._room(document_id)
        await room.join(conn)
        return room

    def holding(self, conn: Connection) -> Room | None:
        """The room `conn` is counted in, if any, e.g. after a join that failed half-way."""
        for room in self.rooms.values():
            if conn in room.connections:
                return room
        return None

    async def _room(self, document_id: UUID) -> Room:
        while True:
            closing = self._closing.get(document_id)
            if closing is not None:
                await asyncio.shield(closing)
                continue
            room = self.rooms.get(document_id)
            if room is not None and not room.closed:
                return room
            opening = self._opening.get(document_id)
            if opening is not None:
                return await asyncio.shield(opening)
            future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
            self._opening[document_id] = future
            room = Room(document_id, self.layer, self.writer, self._idle)
            try:
                await room.open()
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: waiters re-raise it themselves
                raise
            else:
                self.rooms[document_id] = room
                future.set_result(room)
                return room
            finally:
                del self._opening[document_id]

    async def crowding(self, document_id: UUID, user_id: int, writer: bool) -> Crowding | None:
        """Which cap a new socket of `user_id` would break, if any.

        Per user (on this process): so many per document, so many overall;
        closing tabs makes room again. Per document (on every process): the
        last tenth of the places is kept for those who may write, so viewers
        (a link holder with 200 tabs) cannot lock the owner out.
        """
        mine_here = 0
        mine = 0
        for room in self.rooms.values():
            count = sum(1 for conn in room.connections if conn.user_id == user_id)
            mine += count
            if room.document_id == document_id:
                mine_here = count
        if mine_here >= conf.get("MAX_CONNECTIONS_PER_USER_PER_DOCUMENT"):
            return "user"
        if mine >= conf.get("MAX_CONNECTIONS_PER_USER"):
            return "user"
        limit = int(conf.get("MAX_CONNECTIONS_PER_DOCUMENT"))
        if not writer:
            limit -= limit // 10
        return "document" if await self._open_sockets(document_id, limit) >= limit else None

    async def is_full(self, document_id: UUID) -> bool:
        """Whether the document has its maximum of sockets open, on every process."""
        limit = conf.get("MAX_CONNECTIONS_PER_DOCUMENT")
        return await self._open_sockets(document_id, limit) >= limit

    async def _open_sockets(self, document_id: UUID, enough: int) -> int:
        """Sockets open on the document on every process (counting stops at `enough` here).

        The other processes' counts come from who-is-online, renewed on each
        join and leave; a burst of simultaneous connects may overshoot by a
        few. If that registry cannot be read, only this process is counted.
        """
        room = self.rooms.get(document_id)
        here = len(room.connections) if room else 0
        if here >= enough:
            return here
        try:
            elsewhere = await presence_registry.connections_elsewhere(
                document_id, room.channel if room else None
            )
        except Exception:
            logger.warning("could not count sockets on other processes", exc_info=True)
            return here
        return here + elsewhere

    def _compacted(self, document_id: UUID, stored_bytes: int) -> None:
        room = self.rooms.get(document_id)
        if room is not None:
            # The size limit counts what is stored; folding the log shrank it.
            room.size = stored_bytes

    def _idle(self, room: Room) -> None:
        if room.connections or room.closed or self.rooms.get(room.document_id) is not room:
            return
        del self.rooms[room.document_id]
        task = asyncio.ensure_future(room.close())
        self._closing[room.document_id] = task
        task.add_done_callback(lambda _: self._closing.pop(room.document_id, None))

    async def close(self) -> None:
        """Close every room (tests and shutdown)."""
        rooms, self.rooms = list(self.rooms.values()), {}
        await asyncio.gather(*(room.close() for room in rooms), return_exceptions=True)
        await asyncio.gather(*self._closing.values(), return_exceptions=True)
        await self.writer.close()
        await access_reads.reads.get().close()  # this loop's way-in reads' connection


_registries = PerLoop(RoomRegistry)


def registry() -> RoomRegistry:
    """This process's registry (one per event loop, so each test loop gets its own)."""
    return _registries.get()
