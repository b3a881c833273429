"""The group commit on PostgreSQL, over the writer's own async connection
(storage.commits): numbered like the sync path, a dropped connection replaced
for the next attempt, and an idle one given back."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from django.db import connection

from documents.models import DocumentUpdate
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
