"""The layer's publisher (documents/realtime/resp_publisher.py), against a real Redis: every
publish written at once, in order, each reply settling its own publish; AUTH; a killed
connection failing only what awaited it; plain addresses only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from documents.realtime.resp_publisher import RespPublisher, command
from documents.tests.support.polling import until

pytestmark = pytest.mark.usefixtures("integration")


@pytest.fixture
async def admin() -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


async def _subscribed(admin: redis.asyncio.Redis, channel: str) -> Any:
    pubsub = admin.pubsub()
    await pubsub.subscribe(channel)
    assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
    return pubsub


@pytest.fixture
async def listening(admin: redis.asyncio.Redis) -> AsyncIterator[tuple[str, Any]]:
    """A fresh channel and a subscription to it."""
    channel = f"pub{uuid.uuid4().hex}"
    pubsub = await _subscribed(admin, channel)
    try:
        yield channel, pubsub
    finally:
        await pubsub.aclose()


@pytest.fixture
def publisher() -> Iterator[RespPublisher]:
    publisher = RespPublisher(str(settings.REDIS_URL))
    try:
        yield publisher
    finally:
        publisher.close()


async def _messages(pubsub: Any, count: int) -> list[bytes]:
    received: list[bytes] = []
    deadline = asyncio.get_running_loop().time() + 10
    while len(received) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{len(received)} of {count}"
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if message is not None:
            received.append(message["data"])
    return received


def _address_for(user: str, password: str) -> str:
    base = str(settings.REDIS_URL).split("://", 1)[1]
    return f"redis://{user}:{password}@{base}"


async def test_publishes_go_out_at_once_without_waiting_for_replies_and_arrive_in_order(
    listening: tuple[str, Any], publisher: RespPublisher
) -> None:
    channel, pubsub = listening
    await publisher.publish_soon(channel, b"open")
    sent = [publisher.publish_soon(channel, b"%d" % n) for n in range(300)]
    # All 300 are on the wire before any reply could have been read.
    assert publisher._replies is not None
    assert len(publisher._replies.waiting) == 300
    await asyncio.wait_for(asyncio.gather(*sent), 5)
    received = await _messages(pubsub, 301)
    assert received == [b"open", *(b"%d" % n for n in range(300))]


async def test_what_is_published_while_the_connection_opens_goes_out_in_order(
    listening: tuple[str, Any], publisher: RespPublisher
) -> None:
    channel, pubsub = listening
    sent = [publisher.publish_soon(channel, bytes([n])) for n in range(50)]
    await asyncio.wait_for(asyncio.gather(*sent), 5)
    assert await _messages(pubsub, 50) == [bytes([n]) for n in range(50)]


async def test_binary_payloads_arrive_byte_for_byte(
    listening: tuple[str, Any], publisher: RespPublisher
) -> None:
    channel, pubsub = listening
    payloads = [b"", b"\r\n", b"$3\r\nabc\r\n", bytes(range(256)) * 40]
    await asyncio.wait_for(
        asyncio.gather(*(publisher.publish_soon(channel, p) for p in payloads)), 5
    )
    assert await _messages(pubsub, len(payloads)) == payloads


async def test_an_error_reply_fails_that_publish_alone_and_auth_uses_the_user(
    admin: redis.asyncio.Redis,
) -> None:
    user, password = f"pub{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    allowed = f"allowed{uuid.uuid4().hex}"
    await admin.execute_command(
        "ACL", "SETUSER", user, "on", f">{password}", "resetchannels", f"&{allowed}", "+@all"
    )
    pubsub = await _subscribed(admin, allowed)
    publisher = RespPublisher(_address_for(user, password))
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                publisher.publish_soon(allowed, b"one"),
                publisher.publish_soon(f"forbidden{uuid.uuid4().hex}", b"no"),
                publisher.publish_soon(allowed, b"two"),
                return_exceptions=True,
            ),
            5,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], ResponseError) and "NOPERM" in str(results[1])
        assert await _messages(pubsub, 2) == [b"one", b"two"]
    finally:
        publisher.close()
        await pubsub.aclose()
        await admin.execute_command("ACL", "DELUSER", user)


async def test_a_wrong_password_fails_the_publishes_with_the_reason(
    admin: redis.asyncio.Redis,
) -> None:
    user = f"pub{uuid.uuid4().hex[:8]}"
    await admin.execute_command("ACL", "SETUSER", user, "on", ">right", "~*", "&*", "+@all")
    publisher = RespPublisher(_address_for(user, "wrong"))
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                *(publisher.publish_soon("anywhere", b"x") for _ in range(3)),
                return_exceptions=True,
            ),
            5,
        )
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        assert "WRONGPASS" in str(results[0])
        assert publisher._replies is None  # nothing left open for the next try to trip on
    finally:
        publisher.close()
        await admin.execute_command("ACL", "DELUSER", user)


async def test_a_killed_connection_is_opened_again_by_the_next_publish(
    admin: redis.asyncio.Redis, listening: tuple[str, Any], publisher: RespPublisher
) -> None:
    channel, pubsub = listening
    await publisher.publish_soon(channel, b"before")
    replies = publisher._replies
    assert replies is not None and replies.transport is not None
    host, port = replies.transport.get_extra_info("sockname")[:2]
    assert await admin.client_kill(f"{host}:{port}")
    await until(lambda: publisher._replies is None, "the publisher to see the kill")
    await asyncio.wait_for(publisher.publish_soon(channel, b"after"), 5)
    assert await _messages(pubsub, 2) == [b"before", b"after"]


async def test_closing_fails_what_waits_to_be_written(publisher: RespPublisher) -> None:
    waiting = publisher.publish_soon("anywhere", b"x")  # the connection is still opening
    publisher.close()
    await asyncio.wait([waiting], timeout=5)
    assert isinstance(waiting.exception(), RedisConnectionError)
    after = publisher.publish_soon("anywhere", b"y")
    assert isinstance(after.exception(), RedisConnectionError)


@pytest.mark.parametrize(
    ("host", "served"),
    [
        ({"address": "redis://127.0.0.1:6379/0"}, True),
        ({"address": "redis://user:secret@redis.internal:6380/2"}, True),
        ({"address": "unix:///run/redis.sock"}, True),
        ({"address": "rediss://redis.internal:6380/0"}, False),  # TLS: redis-py's
        ({"address": "redis://127.0.0.1:6379/0?socket_timeout=5"}, False),
        ({"address": "redis://127.0.0.1:6379/0", "socket_timeout": 5}, False),
        ({"master_name": "main", "sentinels": [("127.0.0.1", 26379)]}, False),
    ],
)
def test_only_plain_addresses_are_served(host: dict[str, Any], served: bool) -> None:
    assert (RespPublisher.for_host(host) is not None) is served


def test_the_command_is_redis_wire_format() -> None:
    assert command(b"PUBLISH", b"ch", b"a\r\nb") == (
        b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$4\r\na\r\nb\r\n"
    )
