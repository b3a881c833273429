"""The Redis channel layer: channels_redis's pub/sub layer, made to survive Redis outages.

Pub/sub is what keeps presence fast across processes: one task per process
reads every message straight off its socket, where channels_redis's list-based
layer drains a process's messages one at a time, four Redis commands each
(about 90 a second on the project's machines: two busy processes send each
other more than that, and carets then arrived seconds late). Pub/sub drops
what nobody is subscribed to at that moment (a Redis restart, a process
reconnecting); rooms heal updates from the database and presence from
heartbeats and hellos, as they do for the other layer's full channels.

Two changes to the stock layer (channels-redis 4.3), both for a Redis that is
down or restarted:

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
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close

logger = logging.getLogger(__name__)


class _LoopLayer(RedisPubSubLoopLayer):  # type: ignore[misc]
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
    def _get_layer(self) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
