from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from documents.realtime.registry import registry
from documents.storage import readers


@pytest.fixture
async def rooms() -> AsyncIterator[None]:
    """Close this test's rooms (they hold tasks on the test's event loop)."""
    yield
    await registry().close()
    # The ORM's worker thread and the reader threads keep connections of
    # their own; drop them so the test database can be flushed and dropped.
    await database_sync_to_async(connections.close_all)()
    await asyncio.to_thread(readers.pool.close_connections)
