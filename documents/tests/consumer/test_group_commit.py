"""`store.append`, the group commit every keystroke goes through: sequence numbers,
counters and rows for a batch over many documents, a document deleted meanwhile,
and two processes' batches on the same documents at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from documents.models import Document, DocumentUpdate
from documents.storage import store

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("integration")]


def _documents(owner: Any, count: int) -> list[Document]:
    return [Document.objects.create(title=f"doc {i}", owner=owner) for i in range(count)]


def _log(document: Document) -> list[tuple[int, bytes, int | None]]:
    rows = DocumentUpdate.objects.filter(document=document).order_by("seq")
    return [
        (seq, bytes(data), author)
        for seq, data, author in rows.values_list("seq", "data", "author_id")
    ]


def test_a_batch_over_several_documents_numbers_each_documents_updates_in_order(
    personas: dict[str, Any],
) -> None:
    owner, editor = personas["owner"], personas["editor"]
    a, b, c = _documents(owner, 3)
    store.append([store.Pending(b.id, b"b-first", None)])  # b already has seq 1
    before = timezone.now()
    batch = [
        store.Pending(a.id, b"a1", owner.pk),
        store.Pending(b.id, b"b2", None),
        store.Pending(a.id, b"a2-longer", editor.pk),
        store.Pending(c.id, b"c1", editor.pk),
        store.Pending(b.id, b"b3", owner.pk),
        store.Pending(a.id, b"a3", None),
    ]

    appended = store.append(batch)

    assert appended.seqs == [1, 2, 2, 1, 3, 3]
    assert _log(a) == [(1, b"a1", owner.pk), (2, b"a2-longer", editor.pk), (3, b"a3", None)]
    assert _log(b) == [(1, b"b-first", None), (2, b"b2", None), (3, b"b3", owner.pk)]
    assert _log(c) == [(1, b"c1", editor.pk)]
    for document, last_seq, log_bytes in ((a, 3, 13), (b, 3, 11), (c, 1, 2)):
        document.refresh_from_db()
        assert (document.last_seq, document.log_bytes) == (last_seq, log_bytes)
        assert document.updated_at >= before
    assert appended.compact == set()


def test_updates_to_a_deleted_document_are_not_stored_and_the_rest_are(
    personas: dict[str, Any],
) -> None:
    kept, deleted = _documents(personas["owner"], 2)
    gone = deleted.id
    deleted.delete()

    appended = store.append(
        [
            store.Pending(gone, b"lost", None),
            store.Pending(kept.id, b"kept", None),
            store.Pending(gone, b"lost too", None),
        ]
    )

    assert appended.seqs == [None, 1, None]
    assert _log(kept) == [(1, b"kept", None)]
    assert not DocumentUpdate.objects.filter(document_id=gone).exists()


def test_a_log_past_the_threshold_asks_for_compaction(
    personas: dict[str, Any], settings: Any
) -> None:
    settings.COLLAB = {"COMPACT_AFTER_UPDATES": 3, "COMPACT_AFTER_BYTES": 1_000}
    short, long, large = _documents(personas["owner"], 3)

    appended = store.append(
        [
            *(store.Pending(long.id, b"x", None) for _ in range(3)),
            store.Pending(short.id, b"x", None),
            store.Pending(large.id, b"y" * 1_000, None),
        ]
    )

    assert appended.compact == {long.id, large.id}


def test_two_processes_batches_on_the_same_documents_never_deadlock_or_share_a_number(
    personas: dict[str, Any],
) -> None:
    """Each thread has a connection of its own, as two server processes have; their
    batches name the documents in opposite orders."""
    documents = _documents(personas["owner"], 4)
    rounds = 60
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def write(name: str, order: list[Document]) -> None:
        try:
            start.wait()
            for i in range(rounds):
                store.append([store.Pending(d.id, f"{name}{i}".encode(), None) for d in order])
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=write, args=("x", documents)),
        threading.Thread(target=write, args=("y", documents[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures

    for document in documents:
        log = _log(document)
        assert [seq for seq, _, _ in log] == list(range(1, 2 * rounds + 1))
        for name in "xy":
            mine = [data for _, data, _ in log if data.startswith(name.encode())]
            assert mine == [f"{name}{i}".encode() for i in range(rounds)]  # each in its order
        document.refresh_from_db()
        assert document.last_seq == 2 * rounds


def test_the_statement_is_its_own_transaction_in_autocommit(personas: dict[str, Any]) -> None:
    """The writer runs in autocommit: what it appended is visible to another connection
    as soon as `append` returns."""
    (document,) = _documents(personas["owner"], 1)
    assert connection.get_autocommit()
    store.append([store.Pending(document.id, b"seen", None)])
    seen: list[int] = []

    def read() -> None:
        try:
            seen.append(DocumentUpdate.objects.filter(document_id=document.id).count())
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=10)
    assert seen == [1]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@pytest.mark.parametrize("prepare", [True, False])
def test_the_commit_statement_alone_is_prepared(
    personas: dict[str, Any], settings: Any, prepare: bool
) -> None:
    """PREPARE_COMMITS prepares the group commit once per connection; every other query,
    Django's own, stays unprepared as Django sends it (its setting, for poolers)."""
    settings.COLLAB = {**getattr(settings, "COLLAB", {}), "PREPARE_COMMITS": prepare}
    (document,) = _documents(personas["owner"], 1)
    connection.ensure_connection()
    assert connection.connection.prepare_threshold is None  # Django's choice
    seqs = [store.append([store.Pending(document.id, b"u%d" % n, None)]).seqs for n in range(8)]
    assert seqs == [[n] for n in range(1, 9)]
    for _ in range(8):
        assert Document.objects.filter(pk=document.pk).count() == 1
    assert connection.connection.prepare_threshold is None
    statements = _prepared_statements()
    commits = [s for s in statements if "WITH items AS" in s]
    assert len(commits) == (1 if prepare else 0)
    assert len(statements) == len(commits), statements
    assert [seq for seq, _, _ in _log(document)] == list(range(1, 9))
