"""A socket that arrives while the database is away is told to come back later."""

from __future__ import annotations

import socket

import pytest
from channels.testing import WebsocketCommunicator
from django.db import OperationalError

from documents.realtime.close_codes import CloseCode
from documents.realtime.outage import DatabaseOutageGuard

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_database_error_before_accept_closes_with_a_retry_code():
    async def app(scope, receive, send):
        raise OperationalError("connection refused")

    comm = WebsocketCommunicator(DatabaseOutageGuard(app), "/ws/documents/x")
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_output() == {
        "type": "websocket.close",
        "code": CloseCode.SERVER_ERROR,
        "reason": "busy",
    }


async def test_an_error_after_the_handshake_is_not_hidden():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        raise OperationalError("connection lost")

    comm = WebsocketCommunicator(DatabaseOutageGuard(app), "/ws/documents/x")
    await comm.connect()
    with pytest.raises(OperationalError):
        await comm.wait()


async def test_the_real_stack_refuses_with_a_retry_code_when_the_session_cannot_be_read(
    monkeypatch,
):
    from django.contrib.sessions.backends.db import SessionStore

    from documents.realtime import access
    from documents.storage import loop_connection
    from editor_project.asgi import application

    def unavailable(*args, **kwargs):
        raise OperationalError("connection refused")

    # Every path to the session's row: Channels' own, the reader thread's, and
    # (PostgreSQL) the event loop's, whose database refuses the connection for real.
    monkeypatch.setattr(SessionStore, "load", unavailable)
    monkeypatch.setattr(access, "_session_data", unavailable)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused = probe.getsockname()[1]
    params = {**loop_connection.connection_params(), "host": "127.0.0.1", "port": refused}
    monkeypatch.setattr(loop_connection, "connection_params", lambda: params)
    comm = WebsocketCommunicator(
        application,
        "/ws/documents/00000000-0000-0000-0000-000000000000",
        headers=[
            (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1"),
            (b"cookie", b"sessionid=" + b"a" * 32),
        ],
    )
    connected, _ = await comm.connect()
    assert connected
    message = await comm.receive_output()
    assert message["type"] == "websocket.close"
    assert message["code"] == CloseCode.SERVER_ERROR
