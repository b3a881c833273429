"""An async psycopg connection of Django's default database, for work done on the event loop.

Opened with Django's settings for the database when first needed, in
autocommit (each statement its own transaction); given back after
`idle_seconds` without use, and closed by its user after any failure, so the
next use after a database restart gets a new one. Django's ORM is not
involved, so neither are its per-query housekeeping and its connection checks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from django.db import connection

CLOSE_WAIT_SECONDS = 5.0


def connection_params() -> dict[str, Any]:
    """Django's parameters for the default database, without what is Django's own."""
    params = dict(connection.get_connection_params())
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return params


class LoopConnection:
    """One connection, held between uses and given back when idle.

    Every use holds it alone (`using`), the idle close included: a connection
    closed while another task's statement was in flight on it was freed under
    that statement (two batches of reads shared one, and a crash followed).
    """

    def __init__(self, idle_seconds: float) -> None:
        self._idle_seconds = idle_seconds
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self._idle: asyncio.TimerHandle | None = None
        self._used_at = 0.0  # loop time of the last use's end
        self._closing: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def using(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The connection, for this task alone, opened if there is none. Any error inside
        closes it."""
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    **connection_params(), autocommit=True
                )
            try:
                yield self._conn
            except BaseException:
                await self._close_now()
                raise
            # One timer per idle period, not one per use: the group commit uses
            # this hundreds of times a second.
            loop = asyncio.get_running_loop()
            self._used_at = loop.time()
            if self._idle is None:
                self._idle = loop.call_at(self._used_at + self._idle_seconds, self._close_idle)

    @property
    def backend_pid(self) -> int | None:
        """The database's process serving the connection, if one is open (tests, logs)."""
        return None if self._conn is None or self._conn.closed else self._conn.info.backend_pid

    async def close(self) -> None:
        """Give the connection back (shutdown, tests), once no statement is in flight on it
        (or after CLOSE_WAIT_SECONDS: a database that hangs must not hang a shutdown)."""
        try:
            await asyncio.wait_for(self._lock.acquire(), CLOSE_WAIT_SECONDS)
        except TimeoutError:
            await self._close_now()
            return
        try:
            await self._close_now()
        finally:
            self._lock.release()

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    async def _close_now(self) -> None:
        self._cancel_idle()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _close_idle(self) -> None:
        self._idle = None
        loop = asyncio.get_running_loop()
        due = self._used_at + self._idle_seconds
        if self._lock.locked():
            # In use now: that use's end starts a new idle period.
            due = loop.time() + self._idle_seconds
        if loop.time() < due:
            # Used since the timer was set: wait for the rest.
            self._idle = loop.call_at(due, self._close_idle)
            return
        # Closing sends a goodbye: a timer's callback cannot await it.
        task = loop.create_task(self.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
