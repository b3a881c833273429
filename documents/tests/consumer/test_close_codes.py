"""Close codes a client can act on, and a socket that lets go of its room however it ends.

Every code must be one Autobahn lets an application send (1000, 3000-4999),
in the range that makes the stock y-websocket provider do the right thing:
give up on 4400-4499, reconnect and re-send on anything else. A closed socket
must not stay counted in its room (a leak there ends in "room full").
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError
from pycrdt import Doc, Text

from documents.realtime import protocol, writer
from documents.realtime.close_codes import FINAL, RETRY, CloseCode, is_final
from documents.realtime.consumer import close_reason
from documents.realtime.registry import registry
from documents.storage import store
from documents.tests.support.wsclient import PeerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]

TRANSIENT = {
    CloseCode.SERVER_ERROR,
    CloseCode.ROOM_FULL,
    CloseCode.TOO_MANY_CONNECTIONS,
    CloseCode.OUT_OF_SYNC,
    CloseCode.RATE_LIMITED,
}
PERMANENT = {
    CloseCode.BAD_FRAME,
    CloseCode.INVALID_UPDATE,
    CloseCode.TOO_LARGE,
    CloseCode.UNSUPPORTED_DATA,
    CloseCode.NOT_AUTHENTICATED,
    CloseCode.FORBIDDEN,
    CloseCode.NOT_FOUND,
}


def stock_client_reconnects(code: int) -> bool:
    """y-websocket 3.1's default `shouldReconnect`."""
    return not (4400 <= code < 4500)


# -- the table ----------------------------------------------------------------


def test_every_code_is_one_an_application_may_send():
    for code in CloseCode:
        assert code == 1000 or 3000 <= code <= 4999, code


def test_final_codes_stop_the_stock_client_and_transient_ones_do_not():
    assert set(FINAL) == PERMANENT
    assert set(RETRY) == TRANSIENT
    for code in FINAL:
        assert 4400 <= code <= 4499, code
        assert not stock_client_reconnects(code)
        assert is_final(code)
    for code in RETRY:
        assert 4500 <= code <= 4599, code
        assert stock_client_reconnects(code)
        assert not is_final(code)
    # Told to reconnect under its new role, not to go away.
    assert stock_client_reconnects(CloseCode.ACCESS_CHANGED)
    assert set(CloseCode) == PERMANENT | TRANSIENT | {CloseCode.ACCESS_CHANGED}


@pytest.mark.parametrize(
    "reason",
    [
        "lone \udc80 surrogate",
        "\ud83d" + "x" * 200,
        "é" * 100,  # 200 bytes: cut at a character boundary
        "ok",
    ],
)
def test_close_reason_is_valid_utf8_within_123_bytes(reason):
    sent = close_reason(reason)
    encoded = sent.encode("utf-8")  # strict: raises on a lone surrogate
    assert len(encoded) <= 123
    assert sent[:2] == reason[:2] or "?" in sent[:8]


# -- through the consumer -----------------------------------------------------


async def open_peer(user: Any, document: Any) -> PeerClient:
    peer = await PeerClient(user, document.id).connect()
    return await peer.sync()


def connections(document: Any) -> int:
    return len(registry().rooms[document.id].connections)


async def released(document: Any, count: int) -> None:
    """The room counts `count` sockets, without the closed one's client hanging up."""
    deadline = asyncio.get_running_loop().time() + 3
    while connections(document) != count:
        assert asyncio.get_running_loop().time() < deadline, (
            f"room still holds {connections(document)} sockets, expected {count}"
        )
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
async def test_text_frame_is_refused_alike_whatever_the_role(personas, document, role):
    peer = await open_peer(personas[role], document)
    await peer.comm.send_to(text_data="hello")
    assert await peer.wait_closed() == CloseCode.UNSUPPORTED_DATA
    await released(document, 0)


async def test_text_frame_before_the_handshake_is_refused_for_a_viewer(personas, document):
    peer = await PeerClient(personas["viewer"], document.id).connect()
    await peer.comm.send_to(text_data="\x00\x00")
    assert await peer.wait_closed() == CloseCode.UNSUPPORTED_DATA


async def test_a_reason_with_a_lone_surrogate_still_closes(personas, document, monkeypatch):
    peer = await open_peer(personas["editor"], document)

    def decode(frame: bytes) -> protocol.Message:
        raise protocol.ProtocolError("string \udc80 is odd" + "é" * 100)

    monkeypatch.setattr(protocol, "decode", decode)
    await peer.send(b"\x00\x00\x00")
    output = await peer.comm.receive_output(3)
    while output["type"] != "websocket.close":
        output = await peer.comm.receive_output(3)
    assert output["code"] == CloseCode.BAD_FRAME
    assert len(output["reason"].encode("utf-8")) <= 123
    await released(document, 0)


def _invalid_update_frame() -> bytes:
    return protocol.encode_sync_update(b"\x05\xff\xff\x00garbage")


def _updates(count: int, size: int = 1) -> list[bytes]:
    doc = Doc()
    text = doc.get("text", type=Text)
    out: list[bytes] = []
    doc.observe(lambda event: out.append(event.update))
    for i in range(count):
        text += str(i % 10) * size
    return out


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("text frame", CloseCode.UNSUPPORTED_DATA),
        ("bad frame", CloseCode.BAD_FRAME),
        ("invalid update", CloseCode.INVALID_UPDATE),
        ("frame too large", CloseCode.TOO_LARGE),
        ("document too large", CloseCode.TOO_LARGE),
        ("update rate", CloseCode.RATE_LIMITED),
        ("awareness rate", CloseCode.RATE_LIMITED),
        ("failed commit", CloseCode.SERVER_ERROR),
    ],
)
async def test_every_close_path_releases_the_room(
    personas, document, settings, monkeypatch, path, code
):
    settings.COLLAB = {
        "MAX_FRAME_BYTES": 4096,
        "MAX_DOCUMENT_BYTES": 2048,
        "MAX_UPDATES_PER_SECOND": 2,
        "MAX_AWARENESS_PER_SECOND": 2,
    }
    alice = await open_peer(personas["owner"], document)
    mallory = await open_peer(personas["editor"], document)
    assert connections(document) == 2
    room = registry().rooms[document.id]
    if path == "text frame":
        await mallory.comm.send_to(text_data="hi")
    elif path == "bad frame":
        await mallory.send(b"\x07\x01")
    elif path == "invalid update":
        await mallory.send(_invalid_update_frame())
    elif path == "frame too large":
        await mallory.send(protocol.encode_sync_update(b"\x00" * 5000))
    elif path == "document too large":
        await mallory.send(protocol.encode_sync_update(_updates(1, 3000)[0]))
    elif path == "update rate":
        for update in _updates(10):
            await mallory.send(protocol.encode_sync_update(update))
    elif path == "awareness rate":
        for _ in range(10):
            await mallory.send(protocol.encode_query_awareness())
    else:

        async def database_down(self: Any, batch: list[store.Pending]) -> store.Appended:
            raise OperationalError("connection refused")

        monkeypatch.setattr(writer.Writer, "_append", database_down)
        size_before = room.size
        await mallory.edit("never stored")
    assert await mallory.wait_closed() == code
    await released(document, 1)
    if path == "failed commit":
        assert room.size == size_before  # nothing was stored, nothing counted
        monkeypatch.undo()
    # The one left carries on.
    await alice.edit("still here")
    assert str(alice.text).endswith("still here")
    await alice.close()


async def test_a_commit_is_held_while_the_database_is_away(
    personas, document, settings, monkeypatch
):
    """Unreachable for a moment: the updates wait in order, then commit; nobody is closed."""
    settings.COLLAB = {"COMMIT_RETRY_SECONDS": 10.0}
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    real_append = writer.Writer._append
    down = True
    attempts = 0

    async def append(self: Any, batch: list[store.Pending]) -> store.Appended:
        nonlocal attempts
        attempts += 1
        if down:
            raise OperationalError("server closed the connection unexpectedly")
        return await real_append(self, batch)

    async def answers(self: Any) -> bool:
        return not down

    monkeypatch.setattr(writer.Writer, "_append", append)
    monkeypatch.setattr(writer.Writer, "_database_answers", answers)
    for i in range(5):
        await alice.edit(f"<{i}>")
    deadline = asyncio.get_running_loop().time() + 5
    while attempts < 3:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    assert await bob.nothing_more(0.1)  # nothing relayed before it is stored
    down = False
    await bob.wait_text("<0><1><2><3><4>", timeout=5)
    assert alice.close_code is None and bob.close_code is None
    stored = await database_sync_to_async(store.load)(document.id)
    doc = Doc()
    doc.apply_update(stored.update)
    assert str(doc.get("text", type=Text)) == "<0><1><2><3><4>"
    assert registry().writer.retries >= 2
    await alice.close()
    await bob.close()


async def test_a_database_away_too_long_closes_with_a_code_the_client_retries(
    personas, document, settings, monkeypatch
):
    settings.COLLAB = {"COMMIT_RETRY_SECONDS": 1.0}

    async def append(self: Any, batch: list[store.Pending]) -> store.Appended:
        raise OperationalError("connection refused")

    async def answers(self: Any) -> bool:
        return False

    monkeypatch.setattr(writer.Writer, "_append", append)
    monkeypatch.setattr(writer.Writer, "_database_answers", answers)
    alice = await open_peer(personas["owner"], document)
    room = registry().rooms[document.id]
    size = room.size
    loop = asyncio.get_running_loop()
    started = loop.time()
    await alice.edit("held, ")
    while registry().writer.retries < 1:
        assert loop.time() - started < 2
        await asyncio.sleep(0.01)
    await alice.edit("then handed back")  # joins the batch being retried
    assert await alice.wait_closed(timeout=5) == CloseCode.SERVER_ERROR
    held = loop.time() - started
    assert stock_client_reconnects(CloseCode.SERVER_ERROR)
    # Held for the window first; then both updates fail together: none is
    # left pending for the socket's close to wait out.
    assert 0.9 <= held < 2.5, held
    await released(document, 0)
    assert room.size == size


async def test_frames_after_a_failed_commit_are_not_judged_against_what_was_lost(
    personas, document
):
    """The live failure this guards: an update lost to the database, then the
    client's next one, which builds on it, refused as invalid (a final 4422)
    before the retryable close went out; the stock client then stopped for good.
    """
    alice = await open_peer(personas["owner"], document)
    consumer = next(iter(registry().rooms[document.id].connections))
    doc = Doc()
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text += "lost"  # never reaches the server
    text += " and built on"
    lost: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    lost.set_exception(OperationalError("connection refused"))
    # The interleaving seen live: the failure is reported, and the next frame
    # is already being read before anything else runs.
    consumer._on_committed(lost)  # type: ignore[attr-defined]
    await consumer.receive(bytes_data=protocol.encode_sync_update(updates[-1]))  # type: ignore[attr-defined]
    assert await alice.wait_closed() == CloseCode.SERVER_ERROR
    await released(document, 0)
