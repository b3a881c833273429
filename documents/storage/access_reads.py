"""The way-in reads of sockets that arrive together, on the event loop, a statement per batch.

On reader threads, 100 editors opening one document at once made 300 small
reads that each handed the GIL back and forth with the event loop accepting
those same sockets: a turn of the loop that ran 38 ms of its own work took
256 ms. Here every socket that asks in the same turn of the loop is answered
by one statement over psycopg's async connection: one for the sessions' rows,
one for the users' rows with each one's document, membership and profile.
A batch that is in flight does not hold the next: what arrives meanwhile goes
in the next one.

PostgreSQL only (the embedded SQLite default keeps the reader threads). The
connection is this loop's own, in autocommit, opened with the settings of
Django's default database; a read that finds it broken (a database restart)
runs once more on a new one, and a failure reaches every caller of the batch
as Django's `OperationalError`, as the ORM would raise it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import psycopg
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import OperationalError, connection

from documents.models import Document
from documents.per_loop import PerLoop
from documents.permissions import ROLE_COLUMNS, role_joins
from documents.storage.loop_connection import LoopConnection

K = TypeVar("K")
V = TypeVar("V")

IDLE_CONNECTION_SECONDS = 10.0

# Django's own user's fields that a socket uses (its id, names, the password its
# session's hash is checked against, whether it may log in); the rest load if read.
USER_FIELDS = ("id", "password", "username", "first_name", "last_name", "is_active")

UserRow = tuple[Any, ...]  # USER_FIELDS, then the document's owner and title, role, colour


def user_columns() -> list[str]:
    """The columns of USER_FIELDS."""
    column = {field.attname: field.column for field in get_user_model()._meta.concrete_fields}
    return [column[name] for name in USER_FIELDS]


class Batcher(Generic[K, V]):
    """Calls made in the same turn of the loop, answered by one call of `fetch` with all
    their keys (in order: one value per key)."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        self._fetch = fetch
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._task: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, future))
        if self._task is None:
            # Starts on the loop's next turn: the sockets of this one are in the batch.
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    values = await self._fetch([key for key, _ in batch])
                except asyncio.CancelledError:
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), value in zip(batch, values, strict=True):
                    if not future.done():  # a caller that gave up (its socket closed)
                        future.set_result(value)
        finally:
            self._task = None
            for _, future in self._waiting:
                future.cancel()  # only if the drain itself was cancelled (shutdown)


class AccessReads:
    """One event loop's batched reads: `session_data` and `user_row`."""

    def __init__(self, idle_seconds: float = IDLE_CONNECTION_SECONDS) -> None:
        self.conn = LoopConnection(idle_seconds)
        self._sessions: Batcher[tuple[str, datetime], str | None] = Batcher(self._fetch_sessions)
        self._users: Batcher[tuple[Any, UUID | None], UserRow | None] = Batcher(self._fetch_users)

    async def session_data(self, session_key: str, now: datetime) -> str | None:
        """The session's stored data, None when there is no such session or it expired."""
        return await self._sessions.get((session_key, now))

    async def user_row(self, user_id: Any, document_id: UUID | None) -> UserRow | None:
        """The user's USER_FIELDS, then the document's owner and title (NULL: no such
        document, or in the trash, or none asked), the membership's role and the profile's
        caret colour; None when there is no such user."""
        return await self._users.get((user_id, document_id))

    async def close(self) -> None:
        """Give the connection back (shutdown, tests)."""
        await self.conn.close()

    async def _fetch_sessions(self, keys: list[tuple[str, datetime]]) -> list[str | None]:
        # One instant for the batch: the latest asked, so none is read as live later than asked.
        now = max(at for _, at in keys)
        rows = await self._query(_sessions_sql(), [[key for key, _ in keys], now])
        found = dict(rows)
        return [found.get(key) for key, _ in keys]

    async def _fetch_users(self, wanted: list[tuple[Any, UUID | None]]) -> list[UserRow | None]:
        rows = await self._query(
            user_and_role_sql(batched=True),
            [list(range(len(wanted))), [int(u) for u, _ in wanted], [d for _, d in wanted]],
        )
        by_index: dict[int, UserRow] = {row[0]: row[1:] for row in rows}
        return [by_index.get(i) for i in range(len(wanted))]

    async def _query(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        try:
            try:
                return await self._run(sql, params)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                # Broken (a restart), and closed by now: a read can be repeated on a new one.
                return await self._run(sql, params)
        except psycopg.Error as exc:
            raise OperationalError(str(exc)) from exc

    async def _run(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        async with self.conn.using() as conn, conn.cursor() as cursor:
            await cursor.execute(sql, params)
            return await cursor.fetchall()


reads: PerLoop[AccessReads] = PerLoop(AccessReads)


@functools.cache
def _sessions_sql() -> str:
    table = connection.ops.quote_name(Session._meta.db_table)
    return (
        f"SELECT session_key, session_data FROM {table} "
        "WHERE session_key = ANY(%s) AND expire_date > %s"
    )


@functools.cache
def user_and_role_sql(*, batched: bool) -> str:
    """The statement of `user_row`: for arrays of numbers, user ids and document ids
    (PostgreSQL), or for one user id and one document id (any database: %s, %s). The user is
    u, the document d (NULL when it does not exist, is in the trash, or none was asked)."""
    quote = connection.ops.quote_name
    meta = get_user_model()._meta
    users, pk = quote(meta.db_table), f"u.{quote(meta.pk.column)}"  # type: ignore[union-attr]
    columns = ", ".join(f"u.{quote(column)}" for column in user_columns())
    if batched:
        head = (
            f"SELECT r.n, {columns}, {ROLE_COLUMNS} "
            "FROM unnest(%s::int[], %s::bigint[], %s::uuid[]) AS r(n, user_id, document_id) "
            f"JOIN {users} u ON {pk} = r.user_id"
        )
        document, where = "r.document_id", ""
    else:
        head = f"SELECT {columns}, {ROLE_COLUMNS} FROM {users} u"
        document, where = "%s", f" WHERE {pk} = %s"
    return (
        f"{head} LEFT JOIN {quote(Document._meta.db_table)} d "
        f"ON d.id = {document} AND d.trashed_at IS NULL {role_joins(pk)}{where}"
    )
