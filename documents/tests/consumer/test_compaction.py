"""Compaction folds the log into a snapshot without changing the content, is safe
when two processes try at once, and never writes over data it could not read."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from pycrdt import Doc, Text

from documents.models import Document, DocumentUpdate, Snapshot
from documents.storage import store

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("integration")]


def write_history(document: Document, count: int, start: int = 0) -> Doc:
    """Append `count` one-character edits to the log, as editors would have."""
    doc = Doc()
    existing = store.load(document.id)
    if existing.update != store.EMPTY_UPDATE:
        doc.apply_update(existing.update)
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    for i in range(count):
        if i % 7 == 6:
            del text[len(text) - 1]  # some deletions, as real typing has
        else:
            text += chr(97 + (start + i) % 26)
    doc.unobserve(subscription)
    for offset in range(0, len(updates), 5000):
        store.append([store.Pending(document.id, u, None) for u in updates[offset : offset + 5000]])
    return doc


def content(document: Document) -> str:
    doc = Doc()
    doc.apply_update(store.load(document.id).update)
    return str(doc.get("text", type=Text))


def test_fifty_thousand_updates_compact_to_identical_content(document):
    original = write_history(document, 50_000)
    before = content(document)
    assert before == str(original.get("text", type=Text))
    started = time.perf_counter()
    cold = store.load(document.id)
    uncompacted_ms = (time.perf_counter() - started) * 1000
    snapshot = store.compact(document.id)
    assert snapshot is not None and snapshot.seq == 50_000
    assert DocumentUpdate.objects.filter(document=document).count() == 0
    assert content(document) == before
    started = time.perf_counter()
    store.load(document.id)
    compacted_ms = (time.perf_counter() - started) * 1000
    print(
        f"\nload of 50,000 updates: {uncompacted_ms:.0f} ms from the log "
        f"({len(cold.update)} B), {compacted_ms:.1f} ms from the snapshot ({len(snapshot.data)} B)"
    )
    # The log carries on from the snapshot.
    write_history(document, 10, start=3)
    document.refresh_from_db()
    assert document.last_seq == 50_010 and document.snapshot_seq == 50_000
    assert content(document) == content(document)  # loads again with the tail


def compact_in_thread(document_id, results: list, barrier: threading.Barrier) -> None:
    try:
        barrier.wait()
        results.append(store.compact(document_id))
    except Exception as exc:  # pragma: no cover - reported by the assertion below
        results.append(exc)
    finally:
        connection.close()


def test_two_concurrent_compactions_are_safe(document):
    write_history(document, 3000)
    before = content(document)
    results: list = []
    barrier = threading.Barrier(3)
    threads = [
        threading.Thread(target=compact_in_thread, args=(document.id, results, barrier))
        for _ in range(2)
    ]
    writer_done = threading.Event()

    def keep_writing() -> None:
        barrier.wait()
        try:
            write_history(document, 200, start=5)
        finally:
            connection.close()
            writer_done.set()

    writer = threading.Thread(target=keep_writing)
    for thread in [*threads, writer]:
        thread.start()
    for thread in [*threads, writer]:
        thread.join(60)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len([r for r in results if isinstance(r, Snapshot)]) >= 1
    after = content(document)
    assert after.startswith(before[: len(before) - 1])
    # Every update still counts: the log and the snapshots account for all of it.
    document.refresh_from_db()
    assert document.last_seq == 3200
    tail = DocumentUpdate.objects.filter(document=document, seq__gt=document.snapshot_seq).count()
    assert tail == document.last_seq - document.snapshot_seq
    assert Snapshot.objects.filter(document=document).count() == len(
        [r for r in results if isinstance(r, Snapshot)]
    )


def test_unreadable_snapshot_is_never_overwritten(document):
    write_history(document, 100)
    store.compact(document.id)
    write_history(document, 50, start=1)
    Snapshot.objects.filter(document=document).update(data=b"\x07\xff corrupted")
    rows_before = DocumentUpdate.objects.filter(document=document).count()
    with pytest.raises(store.LoadError):
        store.compact(document.id)
    assert DocumentUpdate.objects.filter(document=document).count() == rows_before
    assert Snapshot.objects.filter(document=document).count() == 1
    assert bytes(Snapshot.objects.get(document=document).data) == b"\x07\xff corrupted"


def test_compaction_keeps_history_per_retention(document, settings):
    settings.COLLAB = {"KEEP_RECENT_SNAPSHOTS": 3}
    for round_ in range(6):
        write_history(document, 20, start=round_)
        store.compact(document.id, label="milestone" if round_ == 0 else "")
    kept = list(Snapshot.objects.filter(document=document).values_list("label", flat=True))
    # The labelled one survives; of the rest, the newest three and one per hour.
    assert "milestone" in kept
    assert len(kept) == 4
