"""One statement run over a psycopg connection's libpq handle, straight from the event loop.

The group commit sends the same statement hundreds of times a second with
parameters already in PostgreSQL's binary format (`pg_arrays`). Through
psycopg's async cursor each run cost about 200 us of the server's CPU
(query conversion, adapters, the cursor, its generators and their waits);
sent with `PGconn.send_query_prepared` and read back as the socket becomes
readable it costs about 110 us. psycopg still opens, configures and closes
the connection; between runs the connection is idle, as psycopg left it.

A run that fails leaves the connection in an unknown state: its owner closes
it (`LoopConnection.using` does on any error, a cancellation included).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors, pq

Row = tuple[bytes | None, ...]


class PqStatement:
    """`query` with `$n` placeholders of the given types; every parameter and every
    result column travels as text or binary as `formats` and `result_format` say."""

    def __init__(
        self,
        name: bytes,
        query: bytes,
        types: Sequence[int],
        formats: Sequence[int],
        result_format: int = 0,
    ) -> None:
        self._name = name
        self._query = query
        self._types = list(types)
        self._formats = list(formats)
        self._result_format = result_format
        # The connections this statement is prepared on (a new one, after a failure, is not).
        self._prepared_on: weakref.WeakSet[psycopg.AsyncConnection[Any]] = weakref.WeakSet()

    async def rows(
        self,
        conn: psycopg.AsyncConnection[Any],
        params: Sequence[bytes | None],
        *,
        prepare: bool,
    ) -> list[Row]:
        """Run it once on `conn` (idle, in autocommit) and return its rows; raises what
        psycopg raises for the same failure (OperationalError for a lost connection)."""
        pgconn = conn.pgconn
        if prepare:
            if conn not in self._prepared_on:
                pgconn.send_prepare(self._name, self._query, self._types)
                await _results(pgconn, conn)
                self._prepared_on.add(conn)
            pgconn.send_query_prepared(
                self._name, params, self._formats, result_format=self._result_format
            )
        else:
            pgconn.send_query_params(
                self._query, params, self._types, self._formats, result_format=self._result_format
            )
        return await _results(pgconn, conn)


async def _results(pgconn: pq.abc.PGconn, conn: psycopg.AsyncConnection[Any]) -> list[Row]:
    loop = asyncio.get_running_loop()
    fd = pgconn.socket
    while pgconn.flush():
        await _ready(loop, fd, writable=True)
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        await _ready(loop, fd, writable=False)
    rows: list[Row] = []
    failure: psycopg.Error | None = None
    while (result := pgconn.get_result()) is not None:
        if result.status == pq.ExecStatus.TUPLES_OK:
            width = result.nfields
            rows.extend(
                tuple(result.get_value(i, j) for j in range(width)) for i in range(result.ntuples)
            )
        elif result.status != pq.ExecStatus.COMMAND_OK and failure is None:
            failure = errors.error_from_result(result, encoding=conn.info.encoding)
    if pgconn.status == pq.ConnStatus.BAD:
        raise psycopg.OperationalError(f"the connection was lost: {failure or 'no answer'}")
    if failure is not None:
        raise failure
    return rows


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, *, writable: bool) -> None:
    """Until the socket can be written (or read)."""
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if writable:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        if writable:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)
