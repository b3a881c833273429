from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from documents.storage import readers


@pytest.fixture(autouse=True, scope="session")
def reader_connections_closed(django_db_setup: Any) -> Iterator[None]:
    """The reader threads give their connections back before the test database is dropped."""
    yield
    readers.pool.close_connections()
