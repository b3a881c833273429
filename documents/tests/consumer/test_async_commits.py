"""The group commit on PostgreSQL, over the writer's own async connection
(storage.commits): numbered like the sync path, a dropped connection replaced
for the next attempt, and an idle one given back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection

from documents.models import Document, DocumentUpdate
from documents.storage import store
from documents.storage.commits import AsyncCommits
from documents.tests.support.backends import require_postgresql, terminate_backend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql() -> None:
    require_postgresql()  # the async path is PostgreSQL's


def _rows(document: Any) -> list[tuple[int, bytes]]:
    try:
        rows = DocumentUpdate.objects.filter(document=document).order_by("seq")
        return [(seq, bytes(data)) for seq, data in rows.values_list("seq", "data")]
    finally:
        connection.close()


async def test_batches_are_numbered_in_order_and_stored(document):
    commits = AsyncCommits(idle_seconds=10)
    try:
        first = await commits.append([store.Pending(document.id, b"a", None)] * 2)
        second = await commits.append([store.Pending(document.id, b"b", None)])
        assert first.seqs == [1, 2] and second.seqs == [3]
        assert await asyncio.to_thread(_rows, document) == [(1, b"a"), (2, b"a"), (3, b"b")]
    finally:
        await commits.close()


async def test_a_dropped_connection_fails_one_attempt_and_the_next_gets_a_new_one(document):
    """As a database restart leaves it: the writer's retry must not meet it again."""
    commits = AsyncCommits(idle_seconds=10)
    try:
        await commits.append([store.Pending(document.id, b"a", None)])
        assert commits._conn.backend_pid is not None
        await asyncio.to_thread(terminate_backend, commits._conn.backend_pid)
        with pytest.raises(psycopg.OperationalError):
            await commits.append([store.Pending(document.id, b"lost", None)])
        assert await commits.answers()
        assert (await commits.append([store.Pending(document.id, b"b", None)])).seqs == [2]
        assert await asyncio.to_thread(_rows, document) == [(1, b"a"), (2, b"b")]
    finally:
        await commits.close()


async def test_an_idle_connection_is_given_back(document):
    commits = AsyncCommits(idle_seconds=0.05)
    await commits.append([store.Pending(document.id, b"a", None)])
    deadline = asyncio.get_running_loop().time() + 5
    while commits._conn.backend_pid is not None:
        assert asyncio.get_running_loop().time() < deadline, "the idle connection was kept"
        await asyncio.sleep(0.01)
    # And a later commit opens one again.
    assert (await commits.append([store.Pending(document.id, b"b", None)])).seqs == [2]
    await commits.close()


async def test_a_deleted_document_gets_no_rows_and_no_number(document):
    commits = AsyncCommits(idle_seconds=10)
    try:
        document_id = document.id  # delete() forgets it
        await asyncio.to_thread(lambda: (document.delete(), connection.close()))
        assert (await commits.append([store.Pending(document_id, b"a", None)])).seqs == [None]
    finally:
        await commits.close()


@pytest.mark.parametrize("prepare", [True, False])
async def test_the_statement_is_prepared_once_per_connection_unless_told_not_to(
    document: Any, settings: Any, prepare: bool
) -> None:
    settings.COLLAB = {**getattr(settings, "COLLAB", {}), "PREPARE_COMMITS": prepare}
    commits = AsyncCommits(idle_seconds=10)
    try:
        for n in range(3):
            appended = await commits.append([store.Pending(document.id, b"u%d" % n, None)])
            assert appended.seqs == [n + 1]
        async with commits._conn.using() as conn:
            cursor = await conn.execute("SELECT name FROM pg_prepared_statements")
            names = [name for (name,) in await cursor.fetchall()]
        # A batch of one document's updates goes by a statement of its own.
        assert names == (["collab_append_one"] if prepare else [])
        # After a lost connection, the new one is prepared afresh.
        await asyncio.to_thread(terminate_backend, commits._conn.backend_pid)
        with pytest.raises(psycopg.OperationalError):
            await commits.append([store.Pending(document.id, b"lost", None)])
        assert (await commits.append([store.Pending(document.id, b"u3", None)])).seqs == [4]
    finally:
        await commits.close()


async def test_a_statement_the_database_refuses_raises_its_error_and_the_next_one_runs(
    document: Any,
) -> None:
    """An error about the statement (not the connection) is psycopg's own class for it, so
    the writer fails the batch instead of retrying it as an outage."""
    commits = AsyncCommits(idle_seconds=10)
    try:
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            await commits.append([store.Pending(document.id, b"a", 2**30)])  # no such author
        assert (await commits.append([store.Pending(document.id, b"b", None)])).seqs == [1]
        assert await asyncio.to_thread(_rows, document) == [(1, b"b")]
    finally:
        await commits.close()


def _closing(query: Callable[[], Any]) -> Any:
    """`query()` on a worker thread's connection, closed after: the test database must be
    droppable once the test ends."""
    try:
        return query()
    finally:
        connection.close()


async def test_a_batch_of_several_documents_is_numbered_per_document(
    document: Any, personas: dict[str, Any]
) -> None:
    """One document's batch goes by its own statement, a mixed one by the general one:
    each numbers on from the same counters."""
    other = await asyncio.to_thread(
        _closing, lambda: Document.objects.create(title="Other", owner=personas["owner"])
    )
    author = personas["editor"].pk
    commits = AsyncCommits(idle_seconds=10)
    try:
        one = await commits.append([store.Pending(document.id, b"a1", author)] * 2)
        mixed = await commits.append(
            [
                store.Pending(other.id, b"b1", None),
                store.Pending(document.id, b"a3", author),
                store.Pending(other.id, b"b2", author),
            ]
        )
        again = await commits.append([store.Pending(other.id, b"b3", None)])
        assert one.seqs == [1, 2] and mixed.seqs == [1, 3, 2] and again.seqs == [3]
        assert await asyncio.to_thread(_rows, document) == [(1, b"a1"), (2, b"a1"), (3, b"a3")]
        assert await asyncio.to_thread(_rows, other) == [(1, b"b1"), (2, b"b2"), (3, b"b3")]
        counters = await asyncio.to_thread(
            _closing,
            lambda: list(
                Document.objects.filter(pk__in=[document.pk, other.pk])
                .order_by("title")
                .values_list("title", "last_seq", "log_bytes")
            ),
        )
        assert counters == [("Other", 3, 6), ("Test document", 3, 6)]
        authors = await asyncio.to_thread(
            _closing,
            lambda: list(
                DocumentUpdate.objects.filter(document=document)
                .order_by("seq")
                .values_list("author_id", flat=True)
            ),
        )
        assert authors == [author, author, author]
    finally:
        await commits.close()
