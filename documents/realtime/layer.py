"""The Redis channel layer: channels_redis's pub/sub layer, made to survive Redis outages.

Pub/sub is what keeps presence fast across processes: one task per process
reads every message straight off its socket, where channels_redis's list-based
layer drains a process's messages one at a time, four Redis commands each
(about 90 a second on the project's machines: two busy processes send each
other more than that, and carets then arrived seconds late). Pub/sub drops
what nobody is subscribed to at that moment (a Redis restart, a process
reconnecting); rooms heal updates from the database and presence from
heartbeats and hellos, as they do for the other layer's full channels.

Publishes do not wait for each other. The stock shard holds one lock across
each PUBLISH's round trip, so a process's publishes went out one at a time:
with 1,000 edits a second crossing between two processes, heartbeats queued
behind updates past their 2 s timeout, rooms took the layer for lost and
healed everything from the database. For a plain address each publish is
written at once onto a connection of the shard's own (`resp_publisher.py`);
for any other (TLS, Sentinel, connection options) what is published while a
redis-py pipeline is in flight goes out together in the next one. Either way
in order. `send_soon` hands a message over without waiting for Redis's reply:
a room relays its updates and carets to the other processes with it, so its
own editors never wait on Redis.

A channel can also be given a handler that takes its messages as they are
read off the socket (`handle_directly`): a room takes its peers' updates that
way, without two more hops through the channel's queue and its listen loop,
each a turn of a busy event loop (1,000 editors on two processes: p99 of the
updates that cross 83-124 -> 57-67 ms).

Two more changes to the stock layer (channels-redis 4.3), both for a Redis
that is down or restarted:

- `new_channel` names the channel even while Redis is down, so a document
  still opens from the database alone; the subscription is made by the next
  `group_add` (a room's recovery calls it until it succeeds).
- `group_add` subscribes again even to what the layer believes it is
  subscribed to: after a reconnect, what a restarted Redis holds is the truth,
  and a repeated SUBSCRIBE is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from documents.realtime.resp_publisher import RespPublisher

logger = logging.getLogger(__name__)


class _Shard(RedisSingleShardConnection):  # type: ignore[misc]
    """One Redis connection of the layer, its publishes sent in pipelines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._publisher = RespPublisher.for_host(self.host)
        self._outbox: list[tuple[str, bytes, asyncio.Future[None]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def publish(self, channel: str, message: bytes) -> None:
        await self.publish_soon(channel, message)

    def publish_soon(self, channel: str, message: bytes) -> asyncio.Future[None]:
        """Publish after everything published before; the future is done when Redis has it."""
        if self._publisher is not None:
            return self._publisher.publish_soon(channel, message)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.append((channel, message, future))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send())
        return future

    async def _send(self) -> None:
        try:
            while self._outbox:
                batch, self._outbox = self._outbox, []
                try:
                    async with self._lock:
                        self._ensure_redis()
                        redis = self._redis
                    async with redis.pipeline(transaction=False) as pipe:
                        for channel, message, _ in batch:
                            pipe.publish(channel, message)
                        await pipe.execute()
                except BaseException as exc:
                    cancelled = isinstance(exc, asyncio.CancelledError)
                    for _, _, future in batch:
                        if future.done():
                            continue
                        if cancelled:
                            future.cancel()
                        else:
                            future.set_exception(exc)
                    if cancelled:
                        raise
                    continue
                for _, _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._sending = None
            # Cancelled (the layer flushed, the loop ends): nobody waits forever.
            for _, _, future in self._outbox:
                future.cancel()
            self._outbox = []

    async def _do_receiving(self) -> None:
        """Read the subscription's messages straight off its connection.

        redis-py's `get_message` wraps each read in its retry and metrics
        machinery and an asyncio timeout (the stock loop polls every 0.1 s):
        with it a message cost 20 us of CPU sent and received, 12 without.
        Here a connected subscription is read directly and a plain message
        goes straight to its channel; everything else (subscribe
        confirmations, pongs) goes through redis-py's own handling, and a
        subscription that is not connected (a restart) through the stock
        loop, which reconnects and subscribes again.
        """
        stock_next = False  # after a failed read: the stock loop's reconnect, never a busy loop
        while True:
            pubsub = self._pubsub
            try:
                if not (pubsub and pubsub.subscribed):
                    await asyncio.sleep(0.1)
                    continue
                conn = pubsub.connection
                if (
                    stock_next
                    or conn is None
                    or not conn.is_connected
                    or conn.health_check_interval
                ):
                    stock_next = False
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    self._receive_message(message)
                    continue
                try:
                    response = await conn.read_response(
                        disconnect_on_error=False, push_request=True
                    )
                except RedisTimeoutError:
                    continue  # a socket timeout of redis-py's own: nothing arrived meanwhile
                except (RedisConnectionError, OSError):
                    # The stock loop reconnects and subscribes again.
                    await conn.disconnect(nowait=True)
                    stock_next = True
                    continue
                if (
                    isinstance(response, list)
                    and len(response) == 3
                    and response[0] in (b"message", "message")
                ):
                    self._receive_message({"channel": response[1], "data": response[2]})
                else:
                    self._receive_message(
                        await pubsub.handle_message(response, ignore_subscribe_messages=True)
                    )
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except BaseException:
                logger.exception("Unexpected exception in receive task")
                await asyncio.sleep(1)

    def _receive_message(self, message: dict[str, Any] | None) -> None:
        if message is not None:
            name = message["channel"]
            handler = self.channel_layer.handlers.get(
                name.decode() if isinstance(name, bytes) else name
            )
            if handler is not None:
                try:
                    if handler(self.channel_layer.channel_layer.deserialize(message["data"])):
                        return
                except Exception:
                    logger.exception("the handler of %s failed; the message is queued", name)
        super()._receive_message(message)

    async def flush(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = RespPublisher.for_host(self.host)
        if self._sending is not None:
            self._sending.cancel()
            await asyncio.gather(self._sending, return_exceptions=True)
        await super().flush()


class _LoopLayer(RedisPubSubLoopLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handlers: dict[str, Callable[[dict[str, Any]], bool]] = {}
        stock: list[Any] = getattr(self, "_shards")  # noqa: B009 (untyped in channels_redis)
        self._shards = [_Shard(shard.host, self) for shard in stock]

    def send_soon(self, channel: str, message: dict[str, Any]) -> asyncio.Future[None]:
        shard: _Shard = self._get_shard(channel)
        return shard.publish_soon(channel, self.channel_layer.serialize(message))

    async def new_channel(self, prefix: str = "specific.") -> str:
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = asyncio.Queue()
        try:
            await self._get_shard(channel).subscribe(channel)
        except Exception:
            # The caller's group_add fails the same way and is retried.
            logger.debug("channel %s not subscribed yet: Redis is down", channel)
        return channel

    async def group_add(self, group: str, channel: str) -> None:
        if channel in self.channels:
            await self._resubscribe(channel)
        await self._resubscribe(self._get_group_channel_name(group))
        await super().group_add(group, channel)

    async def _resubscribe(self, name: str) -> None:
        shard = self._get_shard(name)
        shard._subscribed_to.discard(name)
        await shard.subscribe(name)


class PubSubChannelLayer(RedisPubSubChannelLayer):  # type: ignore[misc]
    def send_soon(self, channel: str, message: dict[str, Any]) -> asyncio.Future[None]:
        """`send` without waiting: the message goes out after every message sent before it,
        and the future says when Redis took it (or why it did not)."""
        layer: _LoopLayer = self._get_layer()
        return layer.send_soon(channel, message)

    def handle_directly(self, channel: str, handler: Callable[[dict[str, Any]], bool]) -> None:
        """Give `channel`'s messages to `handler` as they are read off the socket, ahead of
        `receive`; what it returns False for (or raises on) is queued for `receive` as usual."""
        self._get_layer().handlers[channel] = handler

    def stop_handling(self, channel: str) -> None:
        self._get_layer().handlers.pop(channel, None)

    def _get_layer(self) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
