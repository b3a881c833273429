"""Group commit: one transaction for every update that arrived while the last one ran.

Process-wide, one per event loop. Updates from every connection and document
queue here; a single flush task writes them in batches, so throughput grows
with load instead of paying one commit per keystroke. After each commit the
caller's callback runs, in sequence order, before anyone is told.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

from channels.db import database_sync_to_async

from documents.storage import background, crdt, store

logger = logging.getLogger(__name__)

OnCommit = Callable[[int], None]


class DocumentGone(RuntimeError):
    """The document was deleted while an update to it was in flight."""


class Writer:
    def __init__(self) -> None:
        self._queue: list[tuple[store.Pending, OnCommit, asyncio.Future[int]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._compacting: set[UUID] = set()
        self._compactions: set[asyncio.Task[None]] = set()
        # Told the new stored size of a document after its log is folded.
        self.on_compacted: Callable[[UUID, int], None] | None = None
        self.batches = 0
        self.written = 0

    def submit(self, item: store.Pending, on_commit: OnCommit) -> asyncio.Future[int]:
        """Queue one update; `on_commit(seq)` runs once it is durable, then the future resolves."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((item, on_commit, future))
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
                try:
                    result = await database_sync_to_async(store.append)([p for p, _, _ in batch])
                except Exception as exc:
                    logger.exception("append failed for %d updates", len(batch))
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.batches += 1
                self.written += len(batch)
                for (_, on_commit, future), seq in zip(batch, result.seqs, strict=True):
                    if seq is None:
                        future.set_exception(DocumentGone())
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
