"""An update in the log that cannot be applied is quarantined, not fatal.

Rows written before validation applied updates (or by a race between two
processes) may not apply. The document must still load with everything else;
the row is marked, kept, logged once, skipped by compaction, and reported.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connections
from django.test import AsyncClient
from pycrdt import Doc, Text

from documents.models import Document, DocumentUpdate, Snapshot
from documents.storage import store
from documents.tests.consumer.test_bad_updates import BASE, UNAPPLIABLE
from documents.tests.support.wsclient import PeerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("integration")]


def typed_after_base(count: int) -> tuple[list[bytes], str]:
    """`count` one-letter edits on top of BASE, and the text they end with."""
    doc: Doc = Doc(client_id=202)
    doc.apply_update(BASE)
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for i in range(count):
        text += chr(97 + i % 26)
    return updates, str(text)


def write_log(document: Document, count: int = 40, bad_at: int = 20) -> str:
    """BASE, then edits with the unappliable update among them; the good text."""
    edits, expected = typed_after_base(count)
    log = [BASE, *edits[:bad_at], UNAPPLIABLE, *edits[bad_at:]]
    store.append([store.Pending(document.id, update, None) for update in log])
    return expected


def text_of(update_or_doc: bytes | Doc) -> str:
    doc = update_or_doc if isinstance(update_or_doc, Doc) else Doc()
    if isinstance(update_or_doc, bytes):
        doc.apply_update(update_or_doc)
    return str(doc.get("text", type=Text))


BAD_SEQ = 22  # BASE is 1, then 20 edits


def test_a_bad_row_is_quarantined_and_the_document_loads(document, caplog):
    expected = write_log(document)
    with caplog.at_level(logging.ERROR, logger="documents.storage.store"):
        loaded = store.load_doc(document.id)
        assert text_of(loaded.doc) == expected
        assert loaded.last_seq == 42
        assert text_of(store.load(document.id).update) == expected
        store.load_doc(document.id)
    bad = DocumentUpdate.objects.get(document=document, seq=BAD_SEQ)
    assert bad.quarantined and bytes(bad.data) == UNAPPLIABLE
    assert DocumentUpdate.objects.filter(document=document, quarantined=True).count() == 1
    logged = [r for r in caplog.records if "quarantined update" in r.getMessage()]
    assert len(logged) == 1 and f"seq={BAD_SEQ}" in logged[0].getMessage()
    # A heal reads it as an update that adds nothing, in its place.
    rows = store.updates_after(document.id, BAD_SEQ - 1)
    assert rows is not None and rows[0] == (BAD_SEQ, store.EMPTY_UPDATE)


def test_compaction_skips_the_quarantined_row_and_keeps_it(document):
    expected = write_log(document)
    snapshot = store.compact(document.id)
    assert snapshot is not None and snapshot.seq == 42
    assert text_of(bytes(snapshot.data)) == expected
    # Everything folded is gone, except the quarantined row.
    assert list(DocumentUpdate.objects.filter(document=document).values_list("seq", flat=True)) == [
        BAD_SEQ
    ]
    document.refresh_from_db()
    assert document.snapshot_seq == 42 and document.log_bytes == 0
    assert text_of(store.load(document.id).update) == expected
    # The log carries on after the snapshot; it compacts again.
    more, _ = typed_after_base(3)
    store.append([store.Pending(document.id, u, None) for u in more])
    assert store.compact(document.id) is not None
    assert DocumentUpdate.objects.filter(document=document, quarantined=True).count() == 1


def test_a_bad_row_after_the_snapshot_and_a_long_log(document, settings):
    """The slow path (one update at a time) is only for the group that failed."""
    edits, _ = typed_after_base(300)
    store.append([store.Pending(document.id, u, None) for u in [BASE, *edits[:100]]])
    store.compact(document.id)
    store.append([store.Pending(document.id, u, None) for u in [*edits[100:200], UNAPPLIABLE]])
    store.append([store.Pending(document.id, u, None) for u in edits[200:]])
    doc = Doc()
    doc.apply_update(BASE)
    for update in edits:
        doc.apply_update(update)
    assert text_of(store.load_doc(document.id).doc) == str(doc.get("text", type=Text))
    assert DocumentUpdate.objects.get(document=document, seq=202).quarantined
    assert store.compact(document.id) is not None
    assert text_of(store.load(document.id).update) == str(doc.get("text", type=Text))


def test_a_bad_snapshot_is_still_a_load_error_and_is_not_quarantined(document):
    write_log(document)
    store.compact(document.id)
    more, _ = typed_after_base(3)
    store.append([store.Pending(document.id, u, None) for u in more])
    Snapshot.objects.filter(document=document).update(data=b"\x07\xff corrupted")
    with pytest.raises(store.LoadError):
        store.load_doc(document.id)
    with pytest.raises(store.LoadError):
        store.compact(document.id)
    assert bytes(Snapshot.objects.get(document=document).data) == b"\x07\xff corrupted"
    assert DocumentUpdate.objects.filter(document=document, quarantined=False).count() == 3


@pytest.fixture
async def rooms_closed() -> Any:
    from documents.realtime.registry import registry

    yield
    await registry().close()
    await database_sync_to_async(connections.close_all)()


@pytest.mark.usefixtures("rooms_closed")
async def test_editors_open_it_and_health_and_admin_report_it(
    personas, document, django_user_model
):
    expected = await database_sync_to_async(write_log)(document)
    peer = await (await PeerClient(personas["editor"], document.id).connect()).sync()
    assert str(peer.text) == expected
    await peer.edit("!")
    await peer.close()

    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["quarantined_updates"] == 1

    def admin_page() -> tuple[int, str]:
        from django.test import Client

        admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
        client = Client()
        client.force_login(admin)
        listing = client.get("/admin/documents/documentupdate/?quarantined__exact=1")
        bad = DocumentUpdate.objects.get(document=document, seq=BAD_SEQ)
        detail = client.get(f"/admin/documents/documentupdate/{bad.pk}/change/")
        # Its size, never its bytes: they are the users' content.
        assert (
            detail.status_code == 200 and UNAPPLIABLE.hex(" ")[:20] not in detail.content.decode()
        )
        assert f'<div class="readonly">{len(UNAPPLIABLE)}</div>' in detail.content.decode()
        return listing.status_code, listing.content.decode()

    status, page = await database_sync_to_async(admin_page)()
    assert status == 200
    assert str(document.id) in page and "1 document update" in page
