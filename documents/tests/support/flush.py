"""Emptying the test database between transactional tests, in milliseconds.

pytest-django empties it after every transactional test (the browser, live and
consumer tests: about 350 of them) with Django's flush, a TRUNCATE of every
table. On PostgreSQL that costs about 0.2 s however little the tables hold: it
gives each table and index a new file, synced at commit. DELETE, in one
transaction that first takes the same ACCESS EXCLUSIVE locks TRUNCATE would
(so it too waits for every transaction still at work on those tables, and
nothing commits into them meanwhile), leaves the same empty tables in about
10 ms. Foreign keys are checked at commit (Django creates them deferrable), by
when every table is empty.

Sequences are left alone, as the flush after a test leaves them; a flush asked
to reset them (or to cascade) is left to TRUNCATE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SqlFlush = Callable[..., list[str]]


def delete_flush(original: SqlFlush) -> SqlFlush:
    """PostgreSQL's `DatabaseOperations.sql_flush`, emptying with DELETE."""

    def sql_flush(
        self: Any,
        style: Any,
        tables: Sequence[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if not tables or reset_sequences or allow_cascade:
            return original(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        names = [style.SQL_FIELD(self.quote_name(table)) for table in tables]
        return [
            "SET CONSTRAINTS ALL DEFERRED;",
            f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE;",
            *(f"DELETE FROM {name};" for name in names),
        ]

    return sql_flush


@contextmanager
def flush_with_delete() -> Iterator[None]:
    """While active, Django's flush on PostgreSQL empties tables with DELETE."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    DatabaseOperations.sql_flush = delete_flush(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        DatabaseOperations.sql_flush = original  # type: ignore[method-assign]
