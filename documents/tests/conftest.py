from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from documents.realtime.registry import registry


@pytest.fixture
async def rooms() -> AsyncIterator[None]:
    """Close this test's rooms (they hold tasks on the test's event loop)."""
    yield
    await registry().close()
    # The ORM's worker thread keeps its own connection; drop it so the test
    # database can be flushed and dropped.
    await database_sync_to_async(connections.close_all)()
