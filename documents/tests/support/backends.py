"""PostgreSQL backends ended from a test, as a database restart ends them."""

from __future__ import annotations

from django.db import connection


def terminate_backend(pid: int) -> None:
    """End one server process (sync: run it on a thread of its own); its client sees a
    dropped connection at its next statement."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        connection.close()
