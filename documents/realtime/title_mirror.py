"""Keeps Document.title equal to the title editors type into the shared document."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async
from pycrdt import Doc

from documents.models import Document
from documents.storage import server_edits

SAVE_AFTER_SECONDS = 0.3  # a pause in typing; one write per pause, not per key


class TitleMirror:
    def __init__(self, document_id: UUID, doc: Doc[Any]) -> None:
        self.document_id = document_id
        # Fetched once: a root type cannot be created inside an observer's transaction.
        self._meta = server_edits.meta_of(doc)
        self._title = server_edits.title_of(self._meta)
        self._handle: asyncio.TimerHandle | None = None
        self._saving: set[asyncio.Task[None]] = set()
        self._meta.observe(self._changed)

    def _changed(self, _event: Any) -> None:
        title = server_edits.title_of(self._meta)
        if title is None or title == self._title:
            return
        self._title = title
        if self._handle:
            self._handle.cancel()
        self._handle = asyncio.get_running_loop().call_later(SAVE_AFTER_SECONDS, self._save_soon)

    def _save_soon(self) -> None:
        self._handle = None
        task = asyncio.create_task(self._save())
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)

    async def _save(self) -> None:
        title = self._title
        if title is not None:
            await database_sync_to_async(
                lambda: Document.objects.filter(pk=self.document_id).update(title=title)
            )()

    async def close(self) -> None:
        """Save a pending title before the room goes away."""
        if self._handle:
            self._handle.cancel()
            self._handle = None
            await self._save()
        await asyncio.gather(*self._saving, return_exceptions=True)
