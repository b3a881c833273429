"""Who is online in which document, across server processes.

Each server process with a document open publishes the users connected to it
there, stamped with an expiry it renews every heartbeat. With Redis (the same
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
from typing import Any
from uuid import UUID

from django.conf import settings

from documents import conf

Users = list[dict[str, Any]]

_local: dict[UUID, dict[str, tuple[float, Users]]] = {}
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


async def publish(document_id: UUID, origin: str, users: Users) -> None:
    """This process's users in the document, valid until the next heartbeat or so."""
    expires = time.time() + _ttl()
    if not settings.REDIS_URL:
        with _local_lock:
            _local.setdefault(document_id, {})[origin] = (expires, users)
        return
    key = _key(document_id)
    async with _async_redis().pipeline(transaction=False) as pipe:
        pipe.hset(key, origin, json.dumps({"expires": expires, "users": users}))
        pipe.expire(key, int(_ttl() * 4) + 1)
        await pipe.execute()


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
    entries: dict[UUID, dict[str, tuple[float, Users]]] = {}
    if not settings.REDIS_URL:
        with _local_lock:
            entries = {d: dict(_local.get(d, {})) for d in document_ids}
    else:
        client = _sync_redis()
        with client.pipeline(transaction=False) as pipe:
            for document_id in document_ids:
                pipe.hgetall(_key(document_id))
            for document_id, fields in zip(document_ids, pipe.execute(), strict=True):
                parsed = {}
                for origin, raw in fields.items():
                    value = json.loads(raw)
                    parsed[origin.decode()] = (value["expires"], value["users"])
                entries[document_id] = parsed
    result: dict[UUID, Users] = {}
    for document_id in document_ids:
        users: dict[Any, dict[str, Any]] = {}
        for expires, published in entries.get(document_id, {}).values():
            if expires < now:
                continue  # a process that stopped renewing: gone
            for user in published:
                users.setdefault(user["id"], user)
        result[document_id] = sorted(users.values(), key=lambda u: str(u.get("name", "")))
    return result
