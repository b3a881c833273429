"""A room's side of the channel layer: the other processes with the document open.

The link owns the room's channel and its membership in the document's group,
listens on that channel, sends heartbeats, hellos and goodbyes to the group,
sends updates and awareness straight to the peers it knows, and keeps the
room's entry in who-is-online. The room (the document, ordered delivery,
healing, local editors) hears of what arrives through a few callbacks.

The channel layer is the fast path only: when it fails (Redis restarting, say)
editors carry on locally and the database keeps every update. The link keeps
retrying, and once the layer answers again it rejoins the group (a Redis
restarted without persistence has forgotten every membership), says hello
(peers answer with their editors' states), sends its own editors' states,
republishes who is online and has the room catch up from the database. A room
also expects to hear its own heartbeats back from the group: when they stop
arriving while sends succeed, its membership was lost without an error (a
quick restart, an eviction) and it rejoins the same way.

Being behind is not being cut off: a listen loop seconds behind (a backlog, a
busy CPU) hears everyone's heartbeats late, its own included. Heartbeats carry
their send time, and the room judges silences (peers' and its own) in how far
it has listened, not by the wall clock (`presence.rules.Listening`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol, TypeVar
from uuid import UUID

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

from documents import conf, metrics
from documents.presence import online as presence_registry
from documents.presence.relay import AwarenessRelay
from documents.realtime import messages, protocol
from documents.realtime.layer import PubSubChannelLayer

logger = logging.getLogger(__name__)

ONLINE_REFRESH_BEATS = 4  # who-is-online is renewed every few heartbeats (and on every change)
RENEW_GROUP_BEATS = 600  # group membership expires in the layer; renewed while open
ECHO_GRACE_BEATS = 6  # own heartbeats missed before the membership is presumed lost
RETRY_FIRST_SECONDS = 0.05  # after a failed layer call; doubled on each failure since
RETRY_MAX_SECONDS = 0.5  # a Redis back after an outage is rejoined within this
LAYER_CALL_SECONDS = 2.0  # a send that hangs (a peer host gone dark) counts as failed

T = TypeVar("T")


class Host(Protocol):
    """What the link needs from its room."""

    @property
    def last_seq(self) -> int: ...

    @property
    def connections(self) -> Collection[object]: ...

    def users(self) -> list[dict[str, Any]]: ...

    def peer_update(self, seq: int, update: bytes) -> None:
        """Another process committed an update."""

    def peer_ahead(self, seq: int) -> None:
        """Another process has delivered up to `seq`."""

    def layer_back(self) -> None:
        """The layer works again after a failure: messages may have been lost."""

    async def access_changed(self, user_id: int, role: str | None) -> None: ...

    async def document_deleted(self) -> None: ...

    async def session_ended(self, user_id: int, session_key: str | None) -> None: ...

    async def deliver_local(self, frame: bytes) -> None:
        """Send a frame to every editor connected to the room here."""


class Peers:
    def __init__(
        self,
        document_id: UUID,
        layer: BaseChannelLayer,
        awareness: AwarenessRelay,
        host: Host,
    ) -> None:
        self.document_id = document_id
        self.group = messages.group_name(document_id)
        self.layer = layer
        self.awareness = awareness
        self.host = host
        self.channel = ""
        self._healthy = True
        self._failed_at = 0.0
        self.listening = awareness.presence.listening
        self._tasks: list[asyncio.Task[None]] = []
        self._recovery: asyncio.Task[None] | None = None
        self._closed = False
        # Who is online, published by one task at a time: a burst of joins
        # shares a publish instead of each writing the whole list again.
        self._online_changed = False
        self._publishing: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "document.update": self._on_document_update,
            "room.heartbeat": self._on_heartbeat,
            "room.hello": self._on_hello,
            "room.bye": self._on_bye,
            "presence.update": self._on_presence,
            "presence.states": self._on_presence,
            "document.access": self._on_access,
            "document.deleted": self._on_deleted,
            "session.ended": lambda m: self.host.session_ended(m["user_id"], m["session_key"]),
        }

    # -- lifecycle ------------------------------------------------------------

    async def join(self) -> str:
        """Take a channel, join the group and listen; returns the channel.

        Call it before loading the document, so nothing committed meanwhile
        is missed. A layer that is down does not stop the room opening: it
        serves its editors from the database and joins once the layer is back.
        """
        # The default prefix matters: channels_redis's list-based layer serves
        # every process-local channel from one shared list, named after it.
        self.channel = await self.layer.new_channel()
        if isinstance(self.layer, PubSubChannelLayer):
            self.layer.handle_directly(self.channel, self._update_read)
        try:
            await self._call(self.layer.group_add(self.group, self.channel))
        except Exception as exc:
            self._failed("joining the group", exc)
        self._tasks.append(asyncio.create_task(self._listen()))
        return self.channel

    async def start(self) -> None:
        """The room is loaded: beat, and greet the peers."""
        self._tasks.append(asyncio.create_task(self._heartbeat()))
        if self._healthy:
            try:
                await self._call(self.group_send(messages.room_hello(self.channel)))
            except Exception as exc:
                self._failed("saying hello", exc)

    async def close(self) -> None:
        """Stop, and tell the peers this process's users are gone."""
        self._closed = True
        if self._publishing is not None:
            # Its last publish must not land after the withdrawal below.
            await asyncio.wait([self._publishing], timeout=LAYER_CALL_SECONDS)
        tasks = [*self._tasks, *([self._recovery] if self._recovery else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            # A receive cancelled inside channels_redis can fail to finish;
            # closing must not hang on it (shutdown, tests, an idle room).
            _, stuck = await asyncio.wait(tasks, timeout=LAYER_CALL_SECONDS)
            if stuck:
                logger.warning("room %s: %d tasks did not stop", self.document_id, len(stuck))
        if self.channel:
            if isinstance(self.layer, PubSubChannelLayer):
                self.layer.stop_handling(self.channel)
            try:
                await self._call(presence_registry.withdraw(self.document_id, self.channel))
                await self._call(self.group_send(messages.room_bye(self.channel)))
                await self._call(self.layer.group_discard(self.group, self.channel))
            except Exception:
                logger.warning("room %s left its group uncleanly", self.document_id, exc_info=True)

    # -- sending --------------------------------------------------------------

    async def group_send(self, message: messages.Message) -> None:
        await self.layer.group_send(self.group, messages.stamped(message, self.listening.now()))

    async def send_to_peers(self, message: messages.Message) -> None:
        """Send `message` to every peer; on the pub/sub layer, without waiting for Redis.

        The room sends each committed update (and each awareness flush) from its
        delivery loop: waiting for the publish's round trip there held every
        update behind it, local editors' included, by a round trip on a busy
        loop. The pub/sub layer keeps the order of what it is given, and a
        failed publish is reported like a failed send; a Redis that hangs is
        caught by the heartbeats, which still wait (with a time limit).
        """
        peers = self.awareness.peers()
        if not peers:
            return
        if not isinstance(self.layer, PubSubChannelLayer):
            for peer in peers:
                await self._send(peer, message)
            return
        stamped = messages.stamped(message, self.listening.now())
        for peer in peers:
            try:
                sent = self.layer.send_soon(peer, stamped)
            except Exception as exc:
                self._failed(f"sending to {peer}", exc)
            else:
                sent.add_done_callback(functools.partial(self._sent, peer))

    def _sent(self, peer: str, sent: asyncio.Future[None]) -> None:
        if not sent.cancelled() and (exc := sent.exception()) is not None:
            self._failed(f"sending to {peer}", exc)

    async def _send(self, channel: str, message: messages.Message) -> None:
        try:
            await self._call(
                self.layer.send(channel, messages.stamped(message, self.listening.now()))
            )
        except ChannelFull:
            # That peer is not reading: it heals from the database when our
            # next heartbeat shows it is behind.
            metrics.CHANNEL_LAYER_ERRORS.inc()
            logger.warning(
                "room %s could not reach %s: its channel is full", self.document_id, channel
            )
        except Exception as exc:
            self._failed(f"sending to {channel}", exc)

    async def publish_online(self) -> None:
        """Publish who is online here; returns once a publish that includes this change is done."""
        self._online_changed = True
        if self._publishing is None or self._publishing.done():
            self._publishing = asyncio.ensure_future(self._publish_changes())
        # Shielded: a socket that gives up waiting must not stop the publish.
        await asyncio.shield(self._publishing)

    async def _publish_changes(self) -> None:
        while self._online_changed and not self._closed:
            self._online_changed = False
            try:
                if self.host.connections:
                    await presence_registry.publish(
                        self.document_id,
                        self.channel,
                        self.host.users(),
                        len(self.host.connections),
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

    # -- receiving ------------------------------------------------------------

    async def _listen(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # channels_redis drops its state for this channel and raises;
                # the next receive starts afresh once Redis answers again.
                self._failed("receiving", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            delay = RETRY_FIRST_SECONDS
            await self._dispatch(message)

    def _update_read(self, message: dict[str, Any]) -> bool:
        """A peer's update, straight from the layer's socket reader: to the room now,
        without the hops through the channel's queue and this room's listen loop.

        Only from a peer already known (a new one is greeted by `_dispatch`).
        The listen loop's clock is not moved: it measures how far the loop has
        listened, and the heartbeats that tell it are still in the queue.
        """
        origin = message.get("origin")
        if (
            message.get("type") != "document.update"
            or not origin
            or origin == self.channel
            or not self.awareness.knows(origin)
        ):
            return False
        self.awareness.heard_from(origin)
        self.host.peer_update(message["seq"], message["update"])
        return True

    async def _dispatch(self, message: dict[str, Any]) -> None:
        origin = message.get("origin")
        sent_at = message.get("sent_at")
        if origin == self.channel:
            # Our own group messages come back: proof we are still in the
            # group, and the heartbeats' round trip is how far behind we are.
            if message.get("type") == "room.heartbeat" and isinstance(sent_at, int | float):
                self.listening.echoed(sent_at)
            return
        self.listening.heard(sent_at if isinstance(sent_at, int | float) else None)
        handler = self._handlers.get(message.get("type", ""))
        if handler is None:
            logger.warning("room %s ignored message %r", self.document_id, message.get("type"))
            return
        try:
            kind = message["type"]
            if origin and self.awareness.heard_from(origin) and kind != "room.bye":
                # A process we had given up on (or never met): ask for its
                # users again rather than wait for their next change, and
                # tell it ours (a hello's answer does that already). It may
                # have greeted the group before we joined, and our editors'
                # states went to the peers we knew when they arrived.
                if kind != "presence.states":
                    await self._send(origin, messages.room_hello(self.channel))
                if kind != "room.hello":
                    await self._send(origin, self.awareness.local_states_message())
            await handler(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("room %s failed on %s", self.document_id, message.get("type"))

    async def _on_document_update(self, message: dict[str, Any]) -> None:
        self.host.peer_update(message["seq"], message["update"])

    async def _on_access(self, message: dict[str, Any]) -> None:
        await self.host.access_changed(message["user_id"], message["role"])

    async def _on_deleted(self, message: dict[str, Any]) -> None:
        await self.host.document_deleted()

    async def _on_heartbeat(self, message: dict[str, Any]) -> None:
        self.host.peer_ahead(message["last_seq"])

    async def _on_hello(self, message: dict[str, Any]) -> None:
        await self._send(message["origin"], self.awareness.local_states_message())

    async def _on_bye(self, message: dict[str, Any]) -> None:
        await self.awareness.forget(message["origin"])

    async def _on_presence(self, message: dict[str, Any]) -> None:
        self.awareness.remote(message["origin"], message["payload"])

    # -- heartbeats -----------------------------------------------------------

    async def _heartbeat(self) -> None:
        interval = conf.get("HEARTBEAT_SECONDS")
        beats = 0
        while True:
            await asyncio.sleep(interval)
            beats += 1
            self.listening.beat()
            if self._healthy:
                sent_at = self.listening.now()
                # Counted before it goes: it can come back before the send returns.
                self.listening.sent(sent_at)
                try:
                    await self._call(
                        self.group_send(
                            messages.room_heartbeat(self.channel, self.host.last_seq, sent_at)
                        )
                    )
                    if beats % RENEW_GROUP_BEATS == 0:
                        await self._call(self.layer.group_add(self.group, self.channel))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._failed("sending a heartbeat", exc)
                else:
                    if self.listening.lost(ECHO_GRACE_BEATS * interval, ECHO_GRACE_BEATS):
                        self._failed(
                            "hearing its own heartbeats",
                            f"none back for {self.listening.lag():.1f} s",
                        )
            if beats % ONLINE_REFRESH_BEATS == 0:
                await self.publish_online()
            for dead in await self.awareness.expire():
                # A process that died cannot withdraw its users from who is
                # online; whoever notices first does it for them. If it was only
                # slow, its next renewal puts them back.
                await self._withdraw_online(dead)

    # -- outages --------------------------------------------------------------

    async def _reannounce(self) -> None:
        """Our editors' states, past anything a peer told its editors meanwhile.

        A peer that stopped hearing us dropped our editors' carets and sent its
        editors their removal, one clock on; stock clients ignore a state at or
        below that clock. Two clocks on, every editor takes them again (their
        owners too, which adopt the server's clock). Peers that rejoined the
        group before us get them here, unasked: our hello missed them.
        """
        presence = self.awareness.presence
        presence.restamp_local()
        restamped = presence.restamp_local()
        if restamped:
            await self.host.deliver_local(
                protocol.encode_awareness(protocol.encode_awareness_entries(restamped))
            )
        await self._call(self.group_send(self.awareness.local_states_message()))

    async def _call(self, call: Awaitable[T]) -> T:
        return await asyncio.wait_for(call, LAYER_CALL_SECONDS)

    def _failed(self, doing: str, exc: BaseException | str) -> None:
        """The layer failed us: retry in the background until it answers again."""
        if self._closed:
            return
        metrics.CHANNEL_LAYER_ERRORS.inc()
        if self._healthy:
            self._healthy = False
            self._failed_at = time.monotonic()
            self.listening.interrupted()
            logger.warning(
                "room %s lost the channel layer (%s: %r); serving editors locally, retrying",
                self.document_id,
                doing,
                exc,
            )
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover())

    async def _recover(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            try:
                # Memberships may be gone (a Redis restarted without
                # persistence); adding again is harmless when they are not.
                await self._call(self.layer.group_add(self.group, self.channel))
                await self._call(self.group_send(messages.room_hello(self.channel)))
                await self._reannounce()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.debug("room %s: the channel layer is still down", self.document_id)
                continue
            break
        self._healthy = True
        self.awareness.presence.rejoined()
        logger.warning(
            "room %s rejoined the channel layer after %.1f s; catching up from the database",
            self.document_id,
            time.monotonic() - self._failed_at,
        )
        self.host.layer_back()
        await self.publish_online()
