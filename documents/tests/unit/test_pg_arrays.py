"""The group commit's arrays, encoded by hand: PostgreSQL reads back exactly what was sent,
through the connection types the writer uses."""

from __future__ import annotations

import random
import uuid

import psycopg
import pytest
from django.db import connection

from documents.storage import commits, pg_arrays
from documents.tests.support.backends import require_postgresql

pytestmark = pytest.mark.django_db

ROUND_TRIP = "SELECT %s::uuid[], %s::bytea[], %s::bigint[]"


def _values(rng: random.Random, n: int) -> tuple[list, list, list]:
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(n)]
    data = [rng.randbytes(rng.choice((0, 1, 5, 300, 70_000))) for _ in range(n)]
    authors = [
        rng.choice((None, 0, 1, -1, 2**63 - 1, -(2**63), rng.getrandbits(40))) for _ in range(n)
    ]
    return ids, data, authors


@pytest.mark.parametrize("n", [1, 2, 17])
def test_arrays_read_back_as_sent_on_djangos_connection(n: int) -> None:
    require_postgresql()
    ids, data, authors = _values(random.Random(n), n)
    connection.ensure_connection()
    raw = connection.connection
    pg_arrays.teach(raw)
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(
            ROUND_TRIP, (pg_arrays.uuids(ids), pg_arrays.byteas(data), pg_arrays.int8s(authors))
        )
        row = cursor.fetchone()
    assert row == (ids, data, authors)


async def test_arrays_read_back_as_sent_on_the_writers_own_connection() -> None:
    require_postgresql()
    ids, data, authors = _values(random.Random(7), 9)
    conn = await psycopg.AsyncConnection.connect(**commits.connection_params(), autocommit=True)
    try:
        pg_arrays.teach(conn)
        async with conn.cursor() as cursor:
            await cursor.execute(
                ROUND_TRIP,
                (pg_arrays.uuids(ids), pg_arrays.byteas(data), pg_arrays.int8s(authors)),
                prepare=True,
            )
            assert await cursor.fetchone() == (ids, data, authors)
    finally:
        await conn.close()


def test_a_connection_is_taught_once() -> None:
    require_postgresql()
    connection.ensure_connection()
    raw = connection.connection
    pg_arrays.teach(raw)
    dumper = raw.adapters.get_dumper(pg_arrays.UuidArray, psycopg.adapt.PyFormat.BINARY)
    pg_arrays.teach(raw)
    assert raw.adapters.get_dumper(pg_arrays.UuidArray, psycopg.adapt.PyFormat.BINARY) is dumper
