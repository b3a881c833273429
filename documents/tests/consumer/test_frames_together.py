"""Frames of one socket that wait in its queue together are taken together
(consumer.receive_frames): consecutive updates go to the room merged into one,
and every rule of a frame taken alone still holds for each of them."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from pycrdt import Text

from documents.models import DocumentUpdate
from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.storage import store
from documents.tests.consumer.test_bad_updates import BASE, UNAPPLIABLE, open_peer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]


async def stored(document: Any) -> tuple[int, str]:
    """Rows in the document's log, and its text as loaded from the database."""

    def read() -> tuple[int, str]:
        rows = DocumentUpdate.objects.filter(document=document).count()
        return rows, str(store.load_doc(document.id).doc.get("text", type=Text))

    return await database_sync_to_async(read)()


async def test_updates_queued_together_are_stored_and_relayed_as_one(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    for i in range(50):
        await alice.edit(f"<{i}>")  # nothing yields: all 50 wait in the queue
    await bob.wait_text(str(alice.text))
    rows, text = await stored(document)
    assert text == str(alice.text)
    assert rows < 10, f"50 queued keystrokes took {rows} rows"
    assert len(bob.updates) < 10  # and as few frames to every other editor
    await alice.close()
    await bob.close()


async def test_a_bad_frame_behind_queued_updates_leaves_them_saved(personas, document):
    alice = await open_peer(personas["owner"], document)
    for i in range(10):
        await alice.edit(f"<{i}>")
    saved = str(alice.text)
    await alice.send(b"\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")  # a varint past the end
    for i in range(10, 15):
        await alice.edit(f"<{i}>")
    assert await alice.wait_closed() == CloseCode.BAD_FRAME
    assert (await stored(document))[1] == saved  # before it: saved; after it: not taken


async def test_an_update_that_does_not_apply_is_refused_and_those_before_it_stand(
    personas, document
):
    """Merged with the rest, an update that cannot apply fails them all: they are
    then taken one by one, and it alone is refused."""
    alice = await open_peer(personas["owner"], document)
    alice.doc.apply_update(BASE)
    await alice.send(protocol.encode_sync_update(BASE))
    for i in range(5):
        await alice.edit(f"<{i}>")
    saved = str(alice.text)
    await alice.send(protocol.encode_sync_update(UNAPPLIABLE))
    await alice.edit("<after>")
    assert await alice.wait_closed() == CloseCode.INVALID_UPDATE
    assert (await stored(document))[1] == saved


async def test_the_rate_limit_counts_every_update_of_a_run(personas, document, settings):
    settings.COLLAB = {**getattr(settings, "COLLAB", {}), "MAX_UPDATES_PER_SECOND": 5}
    alice = await open_peer(personas["owner"], document)  # a burst of 10 allowed
    for i in range(30):
        await alice.edit(f"<{i}>")
    assert await alice.wait_closed() == CloseCode.RATE_LIMITED
    _, text = await stored(document)
    # The first edits, in order, as many as the bucket held (its burst, less
    # the sync step 2 the client answered the greeting with), and no more.
    taken = [f"<{i}>" for i in range(30)]
    assert any(text == "".join(taken[:n]) for n in range(8, 13)), text
