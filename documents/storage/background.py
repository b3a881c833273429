"""Slow database work (cold loads, compaction) on threads of its own.

The ORM's shared worker thread runs every commit of every document in this
process, so a 200 ms load there would stall them all. These calls get a pool
thread each, and close their connection when done: they are rare, and an idle
connection per pool thread is worth less than a reconnect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection

P = ParamSpec("P")
R = TypeVar("R")


async def run(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a sync database function in a thread of its own and wait for it."""

    def call() -> R:
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()

    return await sync_to_async(call, thread_sensitive=False)()
