"""Keeps DocumentText (title and body as text, for search) close to what editors type.

Off the keystroke path: a committed update only notes the time (`changed()`);
a timer, once typing pauses for SAVE_AFTER_SECONDS (or at the latest every
SAVE_AT_LEAST_EVERY_SECONDS while someone types without a pause), reads the
text out of the room's Doc on the event loop (the Doc is not for other threads)
and writes it on the ORM's thread. Every process with the document open keeps
its own mirror; they write the same text, the last one after the last edit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async
from pycrdt import Doc

from documents.export.text import to_text
from documents.library import search
from documents.storage import server_edits

logger = logging.getLogger(__name__)

SAVE_AFTER_SECONDS = 1.0  # a pause in typing
SAVE_AT_LEAST_EVERY_SECONDS = 5.0  # someone typing without pause is still found soon


class TextMirror:
    def __init__(self, document_id: UUID, doc: Doc[Any]) -> None:
        self.document_id = document_id
        self._doc = doc
        # Fetched once: a root type cannot be created inside an observer's transaction.
        self._meta = server_edits.meta_of(doc)
        self._loop = asyncio.get_running_loop()
        self._last_change = 0.0
        self._first_change: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._saving: set[asyncio.Task[None]] = set()
        self._closed = False
        # Once on open: documents edited while no room had them open (a restore,
        # a copy, content from before search existed) are mirrored too.
        self.changed()

    def changed(self) -> None:
        """A committed update was applied to the Doc: save its text after the next pause."""
        now = self._last_change = self._loop.time()
        if self._first_change is None:
            self._first_change = now
        if self._handle is None and not self._closed:
            self._handle = self._loop.call_at(now + SAVE_AFTER_SECONDS, self._due)

    def _due(self) -> None:
        self._handle = None
        now = self._loop.time()
        first = self._first_change if self._first_change is not None else now
        pause_ends = self._last_change + SAVE_AFTER_SECONDS
        if now < pause_ends and now - first < SAVE_AT_LEAST_EVERY_SECONDS:
            # Still typing: wait for the pause, but not past the longest wait.
            self._handle = self._loop.call_at(
                min(pause_ends, first + SAVE_AT_LEAST_EVERY_SECONDS), self._due
            )
            return
        self._save_now()

    def _save_now(self) -> None:
        self._first_change = None
        try:
            body = to_text(self._doc)
            title = server_edits.title_of(self._meta)
        except Exception:
            logger.exception("document=%s: could not read its text for search", self.document_id)
            return
        task = asyncio.create_task(self._write(body, title))
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)

    async def _write(self, body: str, title: str | None) -> None:
        try:
            await database_sync_to_async(search.text_save)(
                document_id=self.document_id, body=body, title=title
            )
        except Exception:
            # Search lags behind until the next edit; the document itself is safe.
            logger.warning("document=%s: search text not saved", self.document_id, exc_info=True)

    async def close(self) -> None:
        """Save pending text before the room goes away."""
        self._closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._save_now()
        await asyncio.gather(*self._saving, return_exceptions=True)
