"""PostgreSQL backends ended from a test, as a database restart ends them."""

from __future__ import annotations

import pytest
from django.db import connection


def require_postgresql() -> None:
    """Fail, not skip, off PostgreSQL: the test command always runs the suite on it, and a
    test of PostgreSQL's own behaviour skipped there would pass without running."""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL (the README's test command starts it)")


def terminate_backend(pid: int) -> None:
    """End one server process (sync: run it on a thread of its own); its client sees a
    dropped connection at its next statement."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        connection.close()
