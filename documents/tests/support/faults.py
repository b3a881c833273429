"""Services a test may break on purpose: a Redis of its own, killed and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Any
from uuid import UUID

import redis

from devtools.ports import free_port
from devtools.services import start_redis
from documents.tests.support.servers import LAYER_PREFIX, server_env


class ThrowawayRedis:
    """A redis-server on a free loopback port, without persistence, like a cache.

    Restarted on the same port it comes back empty: no groups, no messages,
    no who-is-online, as a production Redis without persistence would.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        _, self.process = start_redis(self.port)
        return self

    def kill(self) -> None:
        """SIGKILL: connections reset, everything in memory gone."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

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
