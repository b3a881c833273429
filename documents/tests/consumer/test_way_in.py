"""A document socket's way in, on the real ASGI stack: its session's user and
its role are read in two statements (on PostgreSQL on the event loop, batched
with the other sockets arriving; on SQLite in one trip to a reader thread), and
nothing it does waits on the ORM's one shared worker thread (a class opening a
document at once queued there, and behind each other's reads)."""

from __future__ import annotations

import gc
from typing import Any

import channels.consumer
import channels.generic.websocket
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.storage import readers
from documents.tests.support.sessions import session_cookie

# The reader-thread trips of one socket's way in.
WAY_IN: list[str] = [] if connection.vendor == "postgresql" else ["access"]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]


@pytest.fixture
def trips(monkeypatch) -> list[str]:
    """The reader calls made, by name."""
    made: list[str] = []
    run = readers.pool.run

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(func.__name__)
        return await run(func, *args, **kwargs)

    monkeypatch.setattr(readers.pool, "run", counted)
    return made


@pytest.fixture
def no_orm_thread(monkeypatch) -> None:
    """A trip to the ORM's worker thread (Channels' housekeeping) fails the test."""

    async def forbidden() -> None:
        raise AssertionError("a socket waited on the ORM's shared worker thread")

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", forbidden)
    monkeypatch.setattr(channels.generic.websocket, "aclose_old_connections", forbidden)


def socket(path: str, cookie: str | None) -> WebsocketCommunicator:
    from editor_project.asgi import application

    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers)


@pytest.mark.usefixtures("no_orm_thread")
async def test_a_member_is_let_in_after_one_read_and_greeted(personas, document, trips):
    cookie = await database_sync_to_async(session_cookie)(personas["editor"])
    comm = socket(f"/ws/documents/{document.id}", cookie)
    connected, _ = await comm.connect()
    assert connected
    assert isinstance(protocol.decode(await comm.receive_from()), protocol.SyncStep1)
    assert trips == WAY_IN
    await comm.disconnect()
    assert trips == WAY_IN  # leaving costs no database trip either


@pytest.mark.usefixtures("no_orm_thread")
async def test_a_stranger_and_a_visitor_without_a_session_are_told_apart(personas, document, trips):
    stranger = await database_sync_to_async(session_cookie)(personas["stranger"])
    for cookie, code in ((stranger, CloseCode.NOT_FOUND), (None, CloseCode.NOT_AUTHENTICATED)):
        comm = socket(f"/ws/documents/{document.id}", cookie)
        connected, _ = await comm.connect()
        assert connected  # accepted only to say why
        denied = protocol.decode(await comm.receive_from())
        assert isinstance(denied, protocol.AuthMessage)
        closed = await comm.receive_output()
        assert closed["type"] == "websocket.close"
        assert closed["code"] == code
    assert trips == WAY_IN * 2


async def test_the_events_socket_reads_its_user_the_same_way(personas, trips):
    cookie = await database_sync_to_async(session_cookie)(personas["editor"])
    comm = socket("/ws/events/", cookie)
    connected, _ = await comm.connect()
    assert connected
    assert trips == WAY_IN
    await comm.disconnect()
    # Without a session: refused as before, with the retry-free code.
    comm = socket("/ws/events/", None)
    connected, _ = await comm.connect()
    assert connected
    closed = await comm.receive_output()
    assert closed["type"] == "websocket.close"
    assert closed["code"] == CloseCode.NOT_AUTHENTICATED
    assert trips == WAY_IN * 2


def _database_handles() -> int:
    from django.db.backends.base.base import BaseDatabaseWrapper

    gc.collect()  # those of earlier tests, garbage by now, are not counted
    return sum(isinstance(o, BaseDatabaseWrapper) for o in gc.get_objects())


async def test_sockets_build_no_database_handle_of_their_own(personas, document):
    # Django's connection handle is per task on the event loop: one touched in a
    # socket's task is a DatabaseWrapper (and six helpers) kept for that socket.
    cookie = await database_sync_to_async(session_cookie)(personas["editor"])
    first = socket(f"/ws/documents/{document.id}", cookie)
    assert (await first.connect())[0]
    await first.receive_from()
    before = _database_handles()
    comms = [socket(f"/ws/documents/{document.id}", cookie) for _ in range(6)]
    for comm in comms:
        assert (await comm.connect())[0]
        assert isinstance(protocol.decode(await comm.receive_from()), protocol.SyncStep1)
    events = socket("/ws/events/", cookie)
    assert (await events.connect())[0]
    assert _database_handles() == before
    for comm in [first, *comms, events]:
        await comm.disconnect()
