"""Group commit: one transaction for every update that arrived while the last one ran.

Process-wide, one per event loop. Updates from every connection and document
queue here; a single flush task writes them in batches, so throughput grows
with load instead of paying one commit per keystroke. After each commit the
caller's callback runs, in sequence order, before anyone is told.

A database that cannot be reached (restarting, failing over) holds the queue
instead of failing it: the batch is retried with backoff for up to
COMMIT_RETRY_SECONDS, with whatever arrives meanwhile queued behind it, so a
restart of a few seconds costs a pause and nothing else. Past that, the
futures fail and their sockets are closed with a code the stock client retries;
the client still holds the edits and sends them again when it reconnects.

On PostgreSQL commits run on the event loop, over an async connection of the
writer's own (`storage.commits`). Elsewhere (the embedded SQLite default) they
run on a thread of the writer's own with a connection of its own, not on the
ORM's shared worker thread: there they queued behind every connecting socket's
reads, and the housekeeping around each call cost a round trip per batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from uuid import UUID

from django.db import connection

from documents import conf, metrics
from documents.storage import background, crdt, store, vendor
from documents.storage.commits import AsyncCommits
from documents.storage.threads import UNREACHABLE, DatabaseThreads

logger = logging.getLogger(__name__)

OnCommit = Callable[[int], None]
OnFailed = Callable[[], None]
_Item = tuple[store.Pending, OnCommit, OnFailed | None, asyncio.Future[int]]

RETRY_FIRST_DELAY = 0.05
RETRY_MAX_DELAY = 0.5  # also the longest commits wait once the database is back
# An idle writer gives its connection back: a process serving no edits should
# not hold one, and a test database cannot be dropped while it is held.
IDLE_CONNECTION_SECONDS = 5.0

P = ParamSpec("P")
R = TypeVar("R")


def _ping() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


class DocumentGone(RuntimeError):
    """The document was deleted while an update to it was in flight."""


def _fail(on_failed: OnFailed | None, future: asyncio.Future[int], exc: BaseException) -> None:
    try:
        if on_failed is not None:
            on_failed()
    finally:
        if not future.done():
            future.set_exception(exc)


class Writer:
    def __init__(self) -> None:
        self._queue: list[_Item] = []
        self._flushing: asyncio.Task[None] | None = None
        self._compacting: set[UUID] = set()
        self._compactions: set[asyncio.Task[None]] = set()
        # Told the new stored size of a document after its log is folded.
        self.on_compacted: Callable[[UUID, int], None] | None = None
        self.batches = 0
        self.written = 0
        self.retries = 0
        # When commits started failing for want of a database; None while it answers.
        self._down_since: float | None = None
        # One thread, so commits stay in order; no health-check round trip per batch.
        self._thread = DatabaseThreads(threads=1, idle_seconds=IDLE_CONNECTION_SECONDS, reads=False)
        self._commits = AsyncCommits(idle_seconds=IDLE_CONNECTION_SECONDS)
        self._on_postgresql = vendor.on_postgresql()  # read once, not per commit

    async def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a sync database call on the writer's own thread and connection.

        Also for a room's reads of what is committed (healing a gap); a
        connection a database restart broke is replaced for the next call.
        """
        return await self._thread.run(func, *args, **kwargs)

    async def close(self) -> None:
        """Give back the connection and the thread (shutdown and tests); usable again after."""
        await self.drained()
        await self._commits.close()
        await asyncio.to_thread(self._thread.stop)

    async def drained(self) -> None:
        """Wait until every update submitted so far is committed (or has failed)."""
        while self._flushing is not None:
            await asyncio.shield(self._flushing)

    def submit(
        self, item: store.Pending, on_commit: OnCommit, on_failed: OnFailed | None = None
    ) -> asyncio.Future[int]:
        """Queue one update; `on_commit(seq)` runs once it is durable, then the future resolves.

        `on_failed()` runs, before the future fails, if it is never stored (a
        callback rather than one more done-callback on every update's future).
        """
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((item, on_commit, on_failed, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return future

    async def append(self, item: store.Pending, on_commit: OnCommit) -> int:
        """Persist one update and wait until it is durable."""
        return await self.submit(item, on_commit)

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                started = time.monotonic()
                try:
                    result = await self._commit(batch)
                except Exception as exc:
                    logger.exception("append failed for %d updates", len(batch))
                    for _, _, on_failed, future in batch:
                        _fail(on_failed, future, exc)
                    continue
                self.batches += 1
                self.written += len(batch)
                metrics.commit_observed(updates=len(batch), seconds=time.monotonic() - started)
                for (_, on_commit, on_failed, future), seq in zip(batch, result.seqs, strict=True):
                    if seq is None:
                        _fail(on_failed, future, DocumentGone())
                        continue
                    try:
                        on_commit(seq)
                    finally:
                        if not future.done():
                            future.set_result(seq)
                for document_id in result.compact:
                    self.compact_soon(document_id)
        finally:
            self._flushing = None

    async def _commit(self, batch: list[_Item]) -> store.Appended:
        """Append the batch, retrying while the database cannot be reached.

        Updates queued during the retries join `batch` itself (committed, or
        failed, with it), behind the ones already waiting, so order holds.
        """
        loop = asyncio.get_running_loop()
        delay = RETRY_FIRST_DELAY
        refused = 0
        while True:
            try:
                result = await self._append([item[0] for item in batch])
            except UNREACHABLE:
                # The broken connection is closed by now; the probe opens a new one.
                if await self._database_answers():
                    # A connection left stale by a restart fails once; a batch
                    # the database itself refuses fails every time.
                    refused += 1
                    if refused > 1:
                        self._down_since = None
                        raise
                    continue
                now = loop.time()
                if self._down_since is None:
                    self._down_since = now
                    logger.warning("database unreachable: holding %d updates", len(batch))
                remaining = self._down_since + conf.get("COMMIT_RETRY_SECONDS") - now
                if remaining <= 0:
                    raise
                await asyncio.sleep(min(delay, remaining))
                delay = min(delay * 2, RETRY_MAX_DELAY)
                self.retries += 1
                batch.extend(self._queue)
                self._queue = []
                continue
            if self._down_since is not None:
                logger.warning(
                    "database back: commits resumed after %.1f s, %d updates held",
                    loop.time() - self._down_since,
                    len(batch),
                )
                self._down_since = None
            return result

    async def _append(self, batch: list[store.Pending]) -> store.Appended:
        if self._on_postgresql:
            return await self._commits.append(batch)
        return await self.run(store.append, batch)

    async def _database_answers(self) -> bool:
        if self._on_postgresql:
            return await self._commits.answers()
        try:
            return await self.run(_ping)
        except Exception:
            return False

    def compact_soon(self, document_id: UUID) -> None:
        """Fold the document's log into a snapshot in the background, once at a time."""
        if document_id in self._compacting:
            return
        self._compacting.add(document_id)
        task = asyncio.create_task(self._compact(document_id))
        self._compactions.add(task)
        task.add_done_callback(self._compactions.discard)

    async def _compact(self, document_id: UUID) -> None:
        try:
            with crdt.failures_logged(logger, "compaction failed document=%s", document_id):
                snapshot = await background.run(store.compact, document_id)
                if snapshot is not None and self.on_compacted is not None:
                    self.on_compacted(document_id, len(snapshot.data))
        finally:
            self._compacting.discard(document_id)
