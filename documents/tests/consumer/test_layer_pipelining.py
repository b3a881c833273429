"""The Redis pub/sub layer's publishes (documents/realtime/layer.py): in order, on the
publisher of its own for a plain address and on redis-py's pipelines for any other (what is
sent while a round trip is in flight goes out together in the next); a Redis that cannot be
reached fails the sends instead of holding them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import redis.asyncio
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError

from devtools.ports import free_port
from documents.realtime.layer import PubSubChannelLayer, _Shard
from documents.tests.support.polling import until

pytestmark = pytest.mark.usefixtures("integration")


def test_a_plain_address_publishes_over_the_publisher_and_any_other_over_pipelines() -> None:
    assert _Shard({"address": settings.REDIS_URL}, None)._publisher is not None
    assert _Shard({"address": settings.REDIS_URL, "socket_timeout": 5}, None)._publisher is None


async def test_concurrent_sends_over_pipelines_arrive_in_order_in_fewer_round_trips() -> None:
    # An option beside the address: redis-py's connection, not the layer's publisher.
    host = {"address": settings.REDIS_URL, "socket_connect_timeout": 5}
    layer = PubSubChannelLayer(hosts=[host], prefix=f"pipe{uuid.uuid4().hex[:8]}")
    try:
        channel = await layer.new_channel()
        shard = layer._get_layer()._shards[0]
        assert isinstance(shard, _Shard) and shard._publisher is None
        pipelines = 0
        send = shard._send

        async def counted() -> None:
            nonlocal pipelines
            pipelines += 1
            await send()

        shard._send = counted  # type: ignore[method-assign]
        # As a busy room and its heartbeats do: many sends at once, none awaited first.
        await asyncio.gather(*(layer.send(channel, {"type": "t", "n": n}) for n in range(300)))
        received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(300)]
        assert [message["n"] for message in received] == list(range(300))
        assert pipelines < 300 // 4, f"{pipelines} pipeline tasks for 300 sends"
    finally:
        await layer.flush()


async def test_sends_to_a_redis_that_is_not_there_fail_instead_of_waiting() -> None:
    layer = PubSubChannelLayer(
        hosts=[f"redis://127.0.0.1:{free_port()}/0"], prefix=f"gone{uuid.uuid4().hex[:8]}"
    )
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                *(layer.send("somewhere", {"type": "t"}) for _ in range(5)),
                return_exceptions=True,
            ),
            10,
        )
        assert all(isinstance(result, RedisConnectionError) for result in results), results
    finally:
        await layer.flush()


@pytest.mark.parametrize("options", [{}, {"socket_connect_timeout": 5}], ids=["own", "pipelines"])
async def test_sends_not_awaited_keep_their_order_among_awaited_ones(
    options: dict[str, Any],
) -> None:
    host = {"address": settings.REDIS_URL, **options}
    layer = PubSubChannelLayer(hosts=[host], prefix=f"soon{uuid.uuid4().hex[:8]}")
    try:
        channel = await layer.new_channel()
        sent = []
        for n in range(100):
            if n % 10 == 0:
                await layer.send(channel, {"type": "t", "n": n})
            else:
                sent.append(layer.send_soon(channel, {"type": "t", "n": n}))
        await asyncio.wait_for(asyncio.gather(*sent), 5)
        received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(100)]
        assert [message["n"] for message in received] == list(range(100))
    finally:
        await layer.flush()


async def test_a_send_not_awaited_reports_a_redis_that_is_not_there() -> None:
    layer = PubSubChannelLayer(
        hosts=[f"redis://127.0.0.1:{free_port()}/0"], prefix=f"gone{uuid.uuid4().hex[:8]}"
    )
    try:
        sent = layer.send_soon("somewhere", {"type": "t"})
        await asyncio.wait_for(asyncio.wait([sent]), 10)
        assert isinstance(sent.exception(), RedisConnectionError)
    finally:
        await layer.flush()


async def test_a_subscription_whose_connection_is_killed_is_made_again() -> None:
    """The receive loop reads the subscription's connection directly; when Redis drops it
    (a restart, a CLIENT KILL), the loop reconnects and subscribes again."""
    layer = PubSubChannelLayer(hosts=[settings.REDIS_URL], prefix=f"kill{uuid.uuid4().hex[:8]}")
    killer = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    received: list[int] = []

    async def receiving(channel: str) -> None:
        while True:
            received.append((await layer.receive(channel))["n"])

    try:
        channel = await layer.new_channel()
        receiver = asyncio.create_task(receiving(channel))
        await layer.send(channel, {"type": "t", "n": 0})
        await until(lambda: received == [0], "the first message")
        connection = layer._get_layer()._shards[0]._pubsub.connection
        host, port = connection._writer.get_extra_info("sockname")[:2]
        assert await killer.client_kill(f"{host}:{port}")
        deadline = asyncio.get_running_loop().time() + 10
        n = 0
        while not any(value > 0 for value in received):
            assert asyncio.get_running_loop().time() < deadline, "never subscribed again"
            n += 1
            await layer.send(channel, {"type": "t", "n": n})
            await asyncio.sleep(0.05)
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
    finally:
        await killer.aclose()
        await layer.flush()
