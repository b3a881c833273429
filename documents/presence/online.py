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
import json
import threading
import time
import weakref
from typing import Any, NamedTuple
from uuid import UUID

from django.conf import settings

from documents import conf

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


_local: dict[UUID, dict[str, _Entry]] = {}
_local_lock = threading.Lock()
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
    weakref.WeakKeyDictionary()
)
_sync_client: Any = None


def _key(document_id: UUID) -> str:
    prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "collab")
    return f"{prefix}:online:{document_id.hex}"


def _ttl() -> float:
    # Rooms renew their entry every few heartbeats; a few renewals may be late.
    return 12 * float(conf.get("HEARTBEAT_SECONDS"))


def _async_redis() -> Any:
    import redis.asyncio

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = redis.asyncio.Redis.from_url(str(settings.REDIS_URL))
    return client


def _sync_redis() -> Any:
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(str(settings.REDIS_URL))
    return _sync_client


async def publish(document_id: UUID, origin: str, users: Users, connections: int) -> None:
    """This process's users (and open sockets) in the document, valid until the
    next heartbeat or so."""
    entry = _Entry(time.time() + _ttl(), users, connections)
    if not settings.REDIS_URL:
        with _local_lock:
            _local.setdefault(document_id, {})[origin] = entry
        return
    key = _key(document_id)
    value = {"expires": entry.expires, "users": users, "connections": connections}
    async with _async_redis().pipeline(transaction=False) as pipe:
        pipe.hset(key, origin, json.dumps(value))
        pipe.expire(key, int(_ttl() * 4) + 1)
        await pipe.execute()


async def connections_elsewhere(document_id: UUID, origin: str | None) -> int:
    """Sockets open on the document in other processes (all of them if `origin` is None)."""
    if not settings.REDIS_URL:
        with _local_lock:
            entries = dict(_local.get(document_id, {}))
    else:
        fields = await _async_redis().hgetall(_key(document_id))
        entries = {name.decode(): _parse(raw) for name, raw in fields.items()}
    now = time.time()
    return sum(
        entry.connections
        for name, entry in entries.items()
        if name != origin and entry.expires >= now
    )


async def withdraw(document_id: UUID, origin: str) -> None:
    """This process no longer has anyone in the document."""
    if not settings.REDIS_URL:
        with _local_lock:
            _local.get(document_id, {}).pop(origin, None)
        return
    await _async_redis().hdel(_key(document_id), origin)


def online_users(document_ids: list[UUID]) -> dict[UUID, Users]:
    """The users present in each document: {"id", "name", "color"} per user."""
    now = time.time()
    entries: dict[UUID, dict[str, _Entry]] = {}
    if not settings.REDIS_URL:
        with _local_lock:
            entries = {d: dict(_local.get(d, {})) for d in document_ids}
    else:
        client = _sync_redis()
        with client.pipeline(transaction=False) as pipe:
            for document_id in document_ids:
                pipe.hgetall(_key(document_id))
            for document_id, fields in zip(document_ids, pipe.execute(), strict=True):
                entries[document_id] = {name.decode(): _parse(raw) for name, raw in fields.items()}
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
