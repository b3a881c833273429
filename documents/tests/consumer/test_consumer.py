"""The document consumer through WebsocketCommunicator: sync, relay, refusals, bad input."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from pycrdt import Doc, Text

from devtools.waiting import eventually
from documents.models import DocumentUpdate
from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.realtime.writer import Writer
from documents.storage import store
from documents.tests.support.wsclient import PeerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]


async def stored_text(document_id) -> str:
    loaded = await database_sync_to_async(store.load)(document_id)
    doc = Doc()
    doc.apply_update(loaded.update)
    return str(doc.get("text", type=Text))


async def stored_is(document_id, text: str) -> bool:
    return await stored_text(document_id) == text


async def open_peer(user, document, **kwargs) -> PeerClient:
    peer = await PeerClient(user, document.id, **kwargs).connect()
    return await peer.sync()


async def test_two_clients_converge(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    await alice.edit("Hello ")
    await bob.wait_text("Hello ")
    await bob.edit("world")
    await alice.wait_text("Hello world")
    assert await stored_text(document.id) == "Hello world"
    await alice.close()
    await bob.close()


async def test_late_joiner_receives_whole_document(personas, document):
    alice = await open_peer(personas["owner"], document)
    for word in ("one ", "two ", "three"):
        await alice.edit(word)
    await alice.close()
    carol = await open_peer(personas["viewer"], document)
    # What was still being committed when she arrived reaches her once stored.
    await carol.wait_text("one two three")
    await carol.close()


async def test_step2_answer_is_exactly_the_missing_diff(personas, document):
    alice = await open_peer(personas["owner"], document)
    await alice.edit("abc")
    await alice.close()
    # A client that already has everything gets an update that adds nothing.
    bob = PeerClient(personas["editor"], document.id)
    bob.doc.apply_update(alice.doc.get_update())
    await bob.connect()
    await bob.sync()
    assert str(bob.text) == "abc"
    assert bob.updates[-1] == alice.doc.get_update(alice.doc.get_state())
    await bob.close()


async def test_sender_gets_no_echo(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    await alice.edit("x")
    await bob.wait_text("x")
    assert await alice.nothing_more(0.3)
    await alice.close()
    await bob.close()


async def test_update_is_committed_before_any_peer_sees_it(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    update = await alice.edit("durable")
    await bob.wait_text("durable")
    stored = await database_sync_to_async(
        lambda: [
            bytes(d)
            for d in DocumentUpdate.objects.filter(document=document).values_list("data", flat=True)
        ]
    )()
    assert update in stored
    await alice.close()
    await bob.close()


async def test_trailing_slash_path_works(personas, document):
    peer = await open_peer(personas["owner"], document, path=f"/ws/documents/{document.id}/")
    await peer.edit("slash")
    await peer.close()
    await eventually(lambda: stored_is(document.id, "slash"))


async def test_anonymous_socket_is_refused(document):
    peer = PeerClient(AnonymousUser(), document.id)
    await peer.connect()
    assert await peer.wait_closed() == CloseCode.NOT_AUTHENTICATED
    assert peer.denied == ["log in to open documents"]


async def test_socket_for_missing_document_is_refused(personas):
    peer = PeerClient(personas["owner"], uuid.uuid4())
    await peer.connect()
    assert await peer.wait_closed() == CloseCode.NOT_FOUND


async def test_stranger_is_refused_as_if_the_document_did_not_exist(personas, document):
    peer = PeerClient(personas["stranger"], document.id)
    await peer.connect()
    assert await peer.wait_closed() == CloseCode.NOT_FOUND
    missing = PeerClient(personas["stranger"], uuid.uuid4())
    await missing.connect()
    assert await missing.wait_closed() == CloseCode.NOT_FOUND
    assert peer.denied == missing.denied == ["no such document"]


async def test_viewer_updates_are_dropped_and_answered_with_permission_denied(personas, document):
    owner = await open_peer(personas["owner"], document)
    await owner.edit("kept")
    viewer = await open_peer(personas["viewer"], document)
    await viewer.wait_text("kept")
    assert viewer.denied == []  # its empty step 2 at connect is no write attempt
    viewer.text += " vandalised"
    forged = viewer.doc.get_update(owner.doc.get_state())
    await viewer.send(protocol.encode_sync_update(forged))
    await viewer.send(protocol.encode_sync_step2(forged))
    await viewer.receive_until(lambda m: isinstance(m, protocol.AuthMessage))
    assert viewer.denied == ["read-only access"]
    assert await owner.nothing_more(0.3)
    assert await stored_text(document.id) == "kept"
    # The viewer still receives others' edits.
    await owner.edit(" and more")
    await viewer.receive_until(lambda _: "and more" in str(viewer.text))
    await owner.close()
    await viewer.close()


async def others_carry_on(alice: PeerClient, personas, document) -> None:
    """After one socket was closed for bad input: the document holds "intact",
    untouched, and the other editors carry on."""
    await alice.edit(" still")
    bob = await open_peer(personas["editor"], document)
    await bob.wait_text("intact still")
    assert await stored_text(document.id) == "intact still"
    await alice.close()
    await bob.close()


def _invalid_update_frame() -> bytes:
    return protocol.encode_sync_update(b"\x05\xff\xff\x00garbage")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x07\x01", CloseCode.BAD_FRAME),  # unknown message type
        (b"\x00\x02\xff", CloseCode.BAD_FRAME),  # truncated varuint
        (b"\x00\x02\x09abc", CloseCode.BAD_FRAME),  # length past the end
        (b"\x01\x05\x01\x01\x01\x01{", CloseCode.BAD_FRAME),  # awareness that is not JSON
        (_invalid_update_frame(), CloseCode.INVALID_UPDATE),  # pycrdt rejects it
        ("text frame", CloseCode.UNSUPPORTED_DATA),
    ],
)
async def test_bad_input_closes_only_that_socket(personas, document, frame, code, caplog):
    alice = await open_peer(personas["owner"], document)
    await alice.edit("intact")
    mallory = await open_peer(personas["editor"], document)
    if isinstance(frame, str):
        await mallory.comm.send_to(text_data=frame)
    else:
        await mallory.send(frame)
    assert await mallory.wait_closed() == code
    assert any("closing socket" in r.message for r in caplog.records)
    await others_carry_on(alice, personas, document)


class PanicException(BaseException):
    """Stands in for pyo3's: a panic in pycrdt's Rust core, not an Exception."""


async def test_a_pycrdt_panic_on_a_frame_closes_only_that_socket(
    personas, document, monkeypatch, caplog
):
    from documents.realtime import room as rooms

    poison = b"\x01\x01\x09\x00\x04\x01\x04text\x01p\x00"
    real_get_state = rooms.get_state

    def get_state(update: bytes) -> bytes:
        if update == poison:
            raise PanicException("index out of bounds")
        return real_get_state(update)

    monkeypatch.setattr(rooms, "get_state", get_state)
    alice = await open_peer(personas["owner"], document)
    await alice.edit("intact")
    mallory = await open_peer(personas["editor"], document)
    await mallory.send(protocol.encode_sync_update(poison))
    assert await mallory.wait_closed() == CloseCode.INVALID_UPDATE
    assert any("invalid update: index out of bounds" in r.message for r in caplog.records)
    await others_carry_on(alice, personas, document)


def test_only_pycrdt_failures_are_caught_as_such():
    from documents.storage.crdt import is_crdt_failure

    assert is_crdt_failure(ValueError("Cannot decode update"))
    assert is_crdt_failure(PanicException("index out of bounds"))
    assert not is_crdt_failure(asyncio.CancelledError())
    assert not is_crdt_failure(KeyboardInterrupt())
    assert not is_crdt_failure(SystemExit(1))


async def test_title_typed_in_the_editor_is_saved_to_the_database(personas, document):
    from pycrdt import Map

    from documents.models import Document

    alice = await open_peer(personas["owner"], document)
    updates: list[bytes] = []
    alice.doc.observe(lambda event: updates.append(event.update))
    alice.doc.get("meta", type=Map)["title"] = "Quarterly plan"
    await alice.send(protocol.encode_sync_update(updates[-1]))

    async def saved_title() -> str:
        return await database_sync_to_async(lambda: Document.objects.get(pk=document.pk).title)()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if await saved_title() == "Quarterly plan":
            break
        await asyncio.sleep(0.02)
    assert await saved_title() == "Quarterly plan"
    await alice.close()


async def test_rename_from_the_list_reaches_open_editors(personas, document):
    from pycrdt import Map

    from documents.services import document_rename

    alice = await open_peer(personas["owner"], document)
    await database_sync_to_async(document_rename)(
        document=document, title="Renamed elsewhere", user=personas["editor"]
    )
    meta = alice.doc.get("meta", type=Map)
    await alice.receive_until(lambda _: meta.get("title") == "Renamed elsewhere")
    await alice.close()


async def test_unreadable_document_is_refused_and_left_untouched(personas, document):
    from documents.models import Snapshot

    alice = await open_peer(personas["owner"], document)
    await alice.edit("precious")
    await alice.close()
    await eventually(lambda: stored_is(document.id, "precious"))
    await database_sync_to_async(store.compact)(document.id)

    def corrupt() -> bytes:
        Snapshot.objects.filter(document=document).update(data=b"\x09\xff\xff broken")
        return bytes(Snapshot.objects.get(document=document).data)

    broken = await database_sync_to_async(corrupt)()
    from documents.realtime.registry import registry

    await registry().close()  # the next socket must load from the database
    bob = PeerClient(personas["editor"], document.id)
    await bob.connect()
    assert await bob.wait_closed() == CloseCode.SERVER_ERROR
    still = await database_sync_to_async(
        lambda: bytes(Snapshot.objects.get(document=document).data)
    )()
    assert still == broken


async def test_an_update_that_could_not_be_saved_is_never_relayed(personas, document, monkeypatch):
    from django.db import OperationalError

    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)

    async def database_down(self, batch):
        raise OperationalError("connection refused")

    monkeypatch.setattr(Writer, "_append", database_down)
    await alice.edit("lost in transit")
    assert await alice.wait_closed() == CloseCode.SERVER_ERROR
    assert await bob.nothing_more(0.3)
    assert str(bob.text) == ""
    # The editor still has its edit; once the database is back, it syncs.
    monkeypatch.undo()
    again = PeerClient(personas["owner"], document.id)
    again.doc.apply_update(alice.doc.get_update())
    await again.connect()
    await again.sync()
    await bob.wait_text("lost in transit")
    assert await stored_text(document.id) == "lost in transit"
    await again.close()
    await bob.close()


async def test_step2_answer_acknowledges_everything_sent_before(personas, document):
    alice = await open_peer(personas["owner"], document)
    for i in range(50):
        await alice.edit(f"<{i}>")
    await alice.send(protocol.encode_sync_step1(alice.doc.get_state()))
    await alice.receive_until(lambda m: isinstance(m, protocol.SyncStep2))
    # Queued together, the edits may be stored merged: what counts is the content.
    stored = await database_sync_to_async(store.load_doc)(document.pk)
    assert str(stored.doc.get("text", type=Text)) == str(alice.text)
    assert alice.doc.get_update(stored.doc.get_state()) == store.EMPTY_UPDATE  # none missing
    await alice.close()


async def test_updates_arriving_together_share_one_commit(personas, document):
    from documents.realtime.registry import registry

    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    writer = registry().writer
    batches, written = writer.batches, writer.written
    for i in range(100):
        # Each update its own (frames queued together are merged): what the
        # writer groups is updates from many sockets.
        await alice.edit_alone(f"a{i} ")
        await bob.edit_alone(f"b{i} ")
    await alice.send(protocol.encode_sync_step1(alice.doc.get_state()))
    await alice.receive_until(lambda m: isinstance(m, protocol.SyncStep2), timeout=10)
    await bob.send(protocol.encode_sync_step1(bob.doc.get_state()))
    await bob.receive_until(lambda m: isinstance(m, protocol.SyncStep2), timeout=10)
    commits, updates = writer.batches - batches, writer.written - written
    assert updates == 200
    # One commit each would be 200; how many share one depends on how fast
    # the database answers (what arrives while a commit runs joins the next).
    assert commits <= updates / 5, f"{updates} updates took {commits} commits"
    await alice.close()
    await bob.close()
