"""The awareness side of a room: relaying who is here, coalesced, across processes.

Local editors' states are stamped with their server-side identity, kept in a
`Presence`, and sent out in batches: one frame to the local editors and one
message to the group per flush, however many carets moved meanwhile. Other
processes' states arrive on the group and go to the local editors only.

An editor that reconnects ignores every state at a clock it saw before it
dropped (see `rules`). When one takes its client id back, this process
re-stamps its own editors' states and asks the other processes to do the same
with theirs (a hello: they answer with their states, re-stamped), so the
editor sees everyone at once instead of at their next renewal, up to 15 s on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from documents import conf
from documents.presence.rules import Listening, Presence
from documents.realtime import messages, protocol
from documents.realtime.protocol import AwarenessEntry

Deliver = Callable[[bytes], Awaitable[None]]
Send = Callable[[messages.Message], Awaitable[None]]  # to the other processes


class AwarenessRelay:
    def __init__(self, deliver: Deliver, send_to_peers: Send) -> None:
        # Wall time: heartbeats carry it, and other processes' stamps are compared with it.
        self.presence = Presence(listening=Listening())
        self.channel = ""  # this room's channel, the origin of what we send
        self._deliver = deliver
        self._send_to_peers = send_to_peers
        self._to_local: dict[int, AwarenessEntry] = {}
        self._to_group: dict[int, AwarenessEntry] = {}
        self._flush_handle: asyncio.Handle | None = None
        self._flushed_at = float("-inf")  # loop time of the last flush
        self._flushing: set[asyncio.Task[None]] = set()
        self._ask_peers = False  # a reconnect needs the other processes' states re-stamped

    def frame(self) -> bytes | None:
        """Everyone's current state as one frame, for a newcomer; None when nobody."""
        states = self.presence.snapshot()
        if not states:
            return None
        return protocol.encode_awareness(protocol.encode_awareness_entries(states))

    def local(
        self, owner: object, raw: list[protocol.RawAwarenessEntry], identity: dict[str, Any]
    ) -> None:
        """A local editor's awareness update, as `protocol.decode` read it (raises
        ProtocolError when a new state is malformed)."""
        user_id = identity.get("id")
        entries = protocol.awareness_entries(
            raw,
            lambda client_id, clock, removal: self.presence.is_news(
                client_id, clock, removal, owner, user_id
            ),
        )
        rejoined: list[int] = []
        changed = self.presence.apply(owner, entries, identity, rejoined)
        self._queue(changed, to_group=True)
        if rejoined:
            self._queue(self.presence.restamp_local(exclude=owner), to_group=False)
            self._ask_peers = True
            self._schedule_flush()

    async def left(self, owner: object) -> None:
        """A local editor is gone: everyone hears it now, not after a flush delay."""
        gone = self.presence.remove_owner(owner)
        if gone:
            self._queue(gone, to_group=True)
            await self.flush()

    def knows(self, origin: str) -> bool:
        return self.presence.knows(origin)

    def heard_from(self, origin: str) -> bool:
        """Another process spoke; True when we had not (or no longer) known it."""
        return self.presence.heard_from(origin)

    def peers(self) -> list[str]:
        """The other processes with this document open, as far as we know."""
        return self.presence.peers(conf.get("PRESENCE_EXPIRY_SECONDS"))

    def local_states_message(self) -> messages.PresenceStates:
        """This process's editors' states, in answer to another process's hello."""
        # The asker may serve a reconnected editor that saw our clocks already.
        self._queue(self.presence.restamp_local(), to_group=False)
        mine = self.presence.snapshot(local_only=True)
        return messages.presence_states(self.channel, protocol.encode_awareness_entries(mine))

    def remote(self, origin: str, payload: bytes) -> None:
        """States relayed by another process, already stamped there."""
        entries = protocol.decode_awareness(payload, self.presence.is_news)
        changed = self.presence.apply(origin, entries, None)
        if changed:
            self._queue(changed, to_group=False)
            # The sender gathered these for a moment already; a second wait
            # here would double every caret's delay across processes.
            self._flush_at_once()

    async def forget(self, origin: str) -> None:
        """Another process left or died: drop its editors' states at once."""
        gone = self.presence.remove_owner(origin)
        if gone:
            self._queue(gone, to_group=False)
            await self.flush()

    async def expire(self) -> list[str]:
        """Forget processes that stopped sending heartbeats; returns their channels."""
        dead, gone = self.presence.expire(conf.get("PRESENCE_EXPIRY_SECONDS"))
        if gone:
            self._queue(gone, to_group=False)
            await self.flush()
        return dead

    def _queue(self, entries: list[AwarenessEntry], *, to_group: bool) -> None:
        """Gather changes for a moment so a burst becomes one frame."""
        if not entries:
            return
        for entry in entries:
            self._to_local[entry.client_id] = entry
            if to_group:
                self._to_group[entry.client_id] = entry
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        """At most one flush per AWARENESS_FLUSH_SECONDS, the first at once.

        A caret that moves alone goes out on the loop's next turn (whatever
        else arrives in this one goes along); in a burst, the moves of the
        interval after a flush gather into the next one. Waiting the interval
        before every flush had put 30-50 ms on every remote caret.
        """
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            due = self._flushed_at + conf.get("AWARENESS_FLUSH_SECONDS")
            if due <= loop.time():
                self._flush_handle = loop.call_soon(self._flush_soon)
            else:
                self._flush_handle = loop.call_at(due, self._flush_soon)

    def _flush_at_once(self) -> None:
        """Flush on the loop's next turn: what else arrives in this one goes along."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        task = asyncio.create_task(self.flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def flush(self) -> None:
        """Send what has gathered: one frame locally, one message per other process."""
        if self._flush_handle:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._flushed_at = asyncio.get_running_loop().time()
        to_local, self._to_local = list(self._to_local.values()), {}
        to_group, self._to_group = list(self._to_group.values()), {}
        ask_peers, self._ask_peers = self._ask_peers, False
        if to_local:
            # A sender gets its own state back; stock clients ignore a clock
            # they already have, and one shared frame is cheaper than one each.
            await self._deliver(
                protocol.encode_awareness(protocol.encode_awareness_entries(to_local))
            )
        if to_group:
            await self._send_to_peers(
                messages.presence_update(self.channel, protocol.encode_awareness_entries(to_group))
            )
        if ask_peers:
            await self._send_to_peers(messages.room_hello(self.channel))

    async def close(self) -> None:
        if self._flush_handle:
            self._flush_handle.cancel()
            self._flush_handle = None
        for task in list(self._flushing):
            task.cancel()
        await asyncio.gather(*self._flushing, return_exceptions=True)
