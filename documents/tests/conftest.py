from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from documents.registry import registry


@pytest.fixture
async def rooms() -> AsyncIterator[None]:
    """Close this test's rooms (they hold tasks on the test's event loop)."""
    yield
    await registry().close()
