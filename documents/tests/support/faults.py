"""Services a test may break on purpose: a Redis of its own, killed and restarted."""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import UUID

import redis

from devtools import services
from documents.tests.support.servers import LAYER_PREFIX, server_env


class ThrowawayRedis(services.ThrowawayRedis):
    """devtools' throwaway Redis, with what the tests read from it."""

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def online_entries(self, document_id: UUID) -> dict[str, dict[str, Any]]:
        """Who-is-online for the document: unexpired entries, one per server process."""
        client = self.client()
        try:
            fields: dict[bytes, bytes] = client.hgetall(  # type: ignore[assignment]
                f"{LAYER_PREFIX}:online:{document_id.hex}"
            )
        finally:
            client.close()
        now = time.time()
        entries = {name.decode(): json.loads(raw) for name, raw in fields.items()}
        return {name: entry for name, entry in entries.items() if entry["expires"] >= now}


def server_env_on(redis_url: str, **collab: int | float) -> dict[str, str]:
    """`server_env`, with the channel layer and who-is-online on another Redis."""
    return {**server_env(**collab), "REDIS_URL": redis_url}
