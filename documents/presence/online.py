"""Who is online in which document, across server processes.

Each server process with a document open publishes the users connected to it
there, and how many sockets (the per-document cap adds them up), stamped with
an expiry it renews every few heartbeats. With Redis (the same
server as the channel layer) that is one hash per document, a field per
process; a process that dies stops renewing and its users drop out when the
stamp runs out. Without Redis (the embedded default, one process) a dict in
this process does the same job.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from django.conf import settings

from documents import conf
from documents.per_loop import PerLoop

Users = list[dict[str, Any]]


class _Entry(NamedTuple):
    """One process's part of a document: until when it holds, who, how many sockets."""

    expires: float
    users: Users
    connections: int


def _parse(raw: bytes) -> _Entry:
    value = json.loads(raw)
    # An entry without a count was written before counts were kept (a rolling
    # deploy): one socket per user is the best guess.
    return _Entry(value["expires"], value["users"], value.get("connections", len(value["users"])))


def _key(document_id: UUID) -> str:
    prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "collab")
    return f"{prefix}:online:{document_id.hex}"


def _ttl() -> float:
    # Rooms renew their entry every few heartbeats; a few renewals may be late.
    return 12 * float(conf.get("HEARTBEAT_SECONDS"))


class Backend(Protocol):
    """Where each process's entry per document is kept."""

    async def put(self, document_id: UUID, origin: str, entry: _Entry) -> None: ...

    async def remove(self, document_id: UUID, origin: str) -> None: ...

    async def entries(self, document_id: UUID) -> dict[str, _Entry]: ...

    def entries_sync(self, document_ids: list[UUID]) -> dict[UUID, dict[str, _Entry]]: ...


class LocalBackend:
    """One process (the embedded default): a dict, shared by its threads."""

    def __init__(self) -> None:
        self._entries: dict[UUID, dict[str, _Entry]] = {}
        self._lock = threading.Lock()

    async def put(self, document_id: UUID, origin: str, entry: _Entry) -> None:
        with self._lock:
            self._entries.setdefault(document_id, {})[origin] = entry

    async def remove(self, document_id: UUID, origin: str) -> None:
        with self._lock:
            self._entries.get(document_id, {}).pop(origin, None)

    async def entries(self, document_id: UUID) -> dict[str, _Entry]:
        return self.entries_sync([document_id])[document_id]

    def entries_sync(self, document_ids: list[UUID]) -> dict[UUID, dict[str, _Entry]]:
        with self._lock:
            return {d: dict(self._entries.get(d, {})) for d in document_ids}


class RedisBackend:
    """Every process: one hash per document in the channel layer's Redis, a field per process."""

    def __init__(self, url: str) -> None:
        self._url = url
        # A client per event loop: its connections belong to the loop that made them.
        self._async: PerLoop[Any] = PerLoop(self._new_async_client)
        self._sync: Any = None
        self._reads: PerLoop[dict[UUID, asyncio.Future[dict[str, _Entry]]]] = PerLoop(dict)

    def _new_async_client(self) -> Any:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(self._url)

    def _async_client(self) -> Any:
        return self._async.get()

    def _sync_client(self) -> Any:
        if self._sync is None:
            import redis

            self._sync = redis.Redis.from_url(self._url)
        return self._sync

    async def put(self, document_id: UUID, origin: str, entry: _Entry) -> None:
        key = _key(document_id)
        value = {"expires": entry.expires, "users": entry.users, "connections": entry.connections}
        async with self._async_client().pipeline(transaction=False) as pipe:
            pipe.hset(key, origin, json.dumps(value))
            pipe.expire(key, int(_ttl() * 4) + 1)
            await pipe.execute()

    async def remove(self, document_id: UUID, origin: str) -> None:
        await self._async_client().hdel(_key(document_id), origin)

    async def entries(self, document_id: UUID) -> dict[str, _Entry]:
        """The document's entries; callers that ask while a read is out share it.

        A class opening one document at once asked for the same hash a hundred
        times in one moment, and the client's pool opened a Redis connection
        for each of them: half the server's time in that burst.
        """
        reads = self._reads.get()
        read = reads.get(document_id)
        if read is None:
            read = reads[document_id] = asyncio.ensure_future(self._read(document_id))
            read.add_done_callback(functools.partial(_read_done, reads, document_id))
        # Shielded: one caller giving up must not cancel the read for the rest.
        return await asyncio.shield(read)

    async def _read(self, document_id: UUID) -> dict[str, _Entry]:
        fields = await self._async_client().hgetall(_key(document_id))
        return {name.decode(): _parse(raw) for name, raw in fields.items()}

    def entries_sync(self, document_ids: list[UUID]) -> dict[UUID, dict[str, _Entry]]:
        with self._sync_client().pipeline(transaction=False) as pipe:
            for document_id in document_ids:
                pipe.hgetall(_key(document_id))
            return {
                document_id: {name.decode(): _parse(raw) for name, raw in fields.items()}
                for document_id, fields in zip(document_ids, pipe.execute(), strict=True)
            }


def _read_done(
    reads: dict[UUID, asyncio.Future[dict[str, _Entry]]],
    document_id: UUID,
    read: asyncio.Future[dict[str, _Entry]],
) -> None:
    """The next ask reads again. A failure every waiter gave up on is retrieved here,
    so it is not reported as never retrieved: the waiters that stayed saw it."""
    reads.pop(document_id, None)
    if not read.cancelled():
        read.exception()


@functools.cache
def backend() -> Backend:
    """This process's backend, chosen once from the settings."""
    return RedisBackend(str(settings.REDIS_URL)) if settings.REDIS_URL else LocalBackend()


async def publish(document_id: UUID, origin: str, users: Users, connections: int) -> None:
    """This process's users (and open sockets) in the document, valid until the
    next heartbeat or so."""
    await backend().put(document_id, origin, _Entry(time.time() + _ttl(), users, connections))


async def connections_elsewhere(document_id: UUID, origin: str | None) -> int:
    """Sockets open on the document in other processes (all of them if `origin` is None)."""
    now = time.time()
    return sum(
        entry.connections
        for name, entry in (await backend().entries(document_id)).items()
        if name != origin and entry.expires >= now
    )


async def withdraw(document_id: UUID, origin: str) -> None:
    """This process no longer has anyone in the document."""
    await backend().remove(document_id, origin)


def online_users(document_ids: list[UUID]) -> dict[UUID, Users]:
    """The users present in each document: {"id", "name", "color"} per user."""
    now = time.time()
    entries = backend().entries_sync(document_ids)
    result: dict[UUID, Users] = {}
    for document_id in document_ids:
        users: dict[Any, dict[str, Any]] = {}
        for entry in entries.get(document_id, {}).values():
            if entry.expires < now:
                continue  # a process that stopped renewing: gone
            for user in entry.users:
                users.setdefault(user["id"], user)
        result[document_id] = sorted(users.values(), key=lambda u: str(u.get("name", "")))
    return result
