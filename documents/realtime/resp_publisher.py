"""PUBLISH written straight onto one Redis connection, the moment each is asked for.

redis-py's pipeline checked a pooled connection out for every batch, probed it
with a zero timeout (a whole event-loop turn), sent the batch and waited for
every reply before the next batch could go. With 1,000 editors on two busy
processes a batch's round trip took 20-65 ms, and an update queued behind one
waited for two: the other process heard of it so late that its rooms took the
wait for a lost message and read the update from the database (70 heals in
20 s). Redis answers one connection's commands in the order they came, so a
publish need not wait for the one before it: each is written at once, in
order, and the replies (an integer each, or an error) settle the publishes'
futures as they arrive, read by the transport's callback with no task woken.

The connection is opened on first use and again after it is lost; what is
published meanwhile is written once it is open (after AUTH, when the address
has a password), or failed with the reason it could not be opened. A lost
connection fails every publish still awaiting its reply: the room's peers
treat that like any failed send (rejoin, heal from the database). Only plain
addresses are handled here (redis:// and unix://, a user and password
included); TLS, Sentinel or extra connection options stay on redis-py
(`for_host` returns None for them).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

CONNECT_SECONDS = 2.0
# Publishes awaiting Redis's reply, beyond which new ones fail at once: a Redis
# that stopped answering is not given the process's memory.
MAX_IN_FLIGHT = 20_000


def command(*parts: bytes) -> bytes:
    """One command in RESP, Redis's wire format."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class _Replies(asyncio.Protocol):
    """The connection: each reply settles the oldest future still waiting."""

    def __init__(self, on_lost: Callable[[_Replies], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._buffer = b""
        self._on_lost = on_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any event loop's stream transport: some loops' (uvloop's) are not asyncio.Transport's.
        self.transport = cast(asyncio.Transport, transport)
        self.open = True

    def send(self, data: bytes, future: asyncio.Future[None]) -> None:
        assert self.transport is not None
        self.waiting.append(future)
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        start = 0
        while (end := buffer.find(b"\r\n", start)) != -1:
            kind = buffer[start : start + 1]
            if kind in (b":", b"+"):
                result: BaseException | None = None
            elif kind == b"-":
                result = ResponseError(buffer[start + 1 : end].decode(errors="replace"))
            else:
                # Not a reply PUBLISH or AUTH gives: the stream cannot be trusted.
                self._buffer = b""
                assert self.transport is not None
                self.transport.abort()
                return
            start = end + 2
            if not self.waiting:
                continue
            future = self.waiting.popleft()
            if future.done():
                continue
            if result is None:
                future.set_result(None)
            else:
                future.set_exception(result)
        self._buffer = buffer[start:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._on_lost(self)
        error = RedisConnectionError(f"the Redis connection was lost: {exc or 'closed'}")
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)


class RespPublisher:
    """Publishes over one connection of its own to the Redis at `address`."""

    def __init__(self, address: str) -> None:
        parts = urlsplit(address)
        self._unix_path = unquote(parts.path) if parts.scheme == "unix" else None
        self._host = parts.hostname or "localhost"
        self._port = parts.port or 6379
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._replies: _Replies | None = None
        self._backlog: list[tuple[bytes, asyncio.Future[None]]] = []
        self._connecting: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def for_host(cls, host: dict[str, Any]) -> RespPublisher | None:
        """A publisher for a channels_redis host entry it can serve, else None."""
        address = host.get("address")
        if set(host) != {"address"} or not isinstance(address, str):
            return None
        parts = urlsplit(address)
        if parts.scheme not in ("redis", "unix") or parts.query:
            return None
        return cls(address)

    def publish_soon(self, channel: str, message: bytes) -> asyncio.Future[None]:
        """Publish in order after everything published before; the future is done when Redis
        has it (or says why not)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_exception(RedisConnectionError("the publisher is closed"))
            return future
        data = command(b"PUBLISH", channel.encode(), message)
        replies = self._replies
        if replies is not None and replies.open and not self._backlog:
            if len(replies.waiting) >= MAX_IN_FLIGHT:
                future.set_exception(RedisConnectionError("Redis is not answering publishes"))
            else:
                replies.send(data, future)
            return future
        if len(self._backlog) >= MAX_IN_FLIGHT:
            future.set_exception(RedisConnectionError("Redis cannot be reached"))
            return future
        self._backlog.append((data, future))
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect())
        return future

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        replies: _Replies | None = None
        try:
            if self._unix_path is not None:
                opening = loop.create_unix_connection(self._new_replies, self._unix_path)
            else:
                opening = loop.create_connection(self._new_replies, self._host, self._port)
            _, opened = await asyncio.wait_for(opening, CONNECT_SECONDS)
            replies = opened
            if self._password is not None:
                parts = [b"AUTH", self._password.encode()]
                if self._username is not None:
                    parts.insert(1, self._username.encode())
                authed: asyncio.Future[None] = loop.create_future()
                opened.send(command(*parts), authed)
                await asyncio.wait_for(authed, CONNECT_SECONDS)
            if self._closed or not opened.open:
                raise RedisConnectionError("the Redis connection was lost")
        except BaseException as exc:
            if replies is not None and replies.transport is not None:
                replies.transport.close()
            self._fail_backlog(
                exc
                if isinstance(exc, RedisConnectionError)
                else RedisConnectionError(f"could not reach Redis: {type(exc).__name__}: {exc}")
            )
            if not isinstance(exc, Exception):
                raise  # cancelled: the publisher was closed
            return
        finally:
            self._connecting = None
        assert replies is not None
        backlog, self._backlog = self._backlog, []
        for data, future in backlog:
            replies.send(data, future)
        self._replies = replies

    def _new_replies(self) -> _Replies:
        return _Replies(self._forget)

    def _forget(self, replies: _Replies) -> None:
        if self._replies is replies:
            self._replies = None

    def _fail_backlog(self, error: BaseException) -> None:
        backlog, self._backlog = self._backlog, []
        for _, future in backlog:
            if not future.done():
                future.set_exception(error)

    def close(self) -> None:
        """Close the connection; what awaits a reply fails."""
        self._closed = True
        self._fail_backlog(RedisConnectionError("the publisher is closed"))
        if self._connecting is not None:
            self._connecting.cancel()
        if self._replies is not None and self._replies.transport is not None:
            self._replies.transport.close()
        self._replies = None
