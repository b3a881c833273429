"""Open sockets end with their session: logout ends that session's, a new
password or a disabled account ends all of the user's."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import logout
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from documents.realtime.close_codes import CloseCode
from documents.realtime.routing import websocket_urlpatterns
from documents.tests.support.wsclient import PeerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]


def new_session() -> SessionStore:
    session = SessionStore()
    session.create()
    return session


async def open_in(user: Any, document: Any, session: SessionStore) -> PeerClient:
    """A synced peer whose scope carries `session`, as SessionMiddleware would."""
    peer = PeerClient(user, document.id)
    router = URLRouter(websocket_urlpatterns)

    async def app(scope: dict, receive: Any, send: Any) -> Any:
        return await router({**scope, "user": user, "session": session}, receive, send)

    peer.comm = WebsocketCommunicator(app, f"/ws/documents/{document.id}")
    await peer.connect()
    await peer.sync()
    return peer


def sign_out(user: Any, session: SessionStore) -> None:
    request = RequestFactory().get("/")
    request.session = session
    request.user = user
    logout(request)


async def test_logout_ends_only_that_sessions_sockets(personas, document):
    editor = personas["editor"]
    laptop = await database_sync_to_async(new_session)()
    phone = await database_sync_to_async(new_session)()
    first = await open_in(editor, document, laptop)
    second = await open_in(editor, document, laptop)
    other = await open_in(editor, document, phone)
    owner = await open_in(personas["owner"], document, await database_sync_to_async(new_session)())

    await database_sync_to_async(sign_out)(editor, laptop)

    assert await first.wait_closed() == CloseCode.NOT_AUTHENTICATED
    assert await second.wait_closed() == CloseCode.NOT_AUTHENTICATED
    assert first.denied == ["you were signed out"]
    # The phone's session is still valid, and so is everyone else's.
    await other.edit("still here")
    await owner.wait_text("still here")
    assert other.close_code is None
    await other.close()
    await owner.close()


async def test_password_change_ends_every_session(personas, document):
    editor = personas["editor"]
    peers = [
        await open_in(editor, document, await database_sync_to_async(new_session)())
        for _ in range(2)
    ]
    owner = await open_in(personas["owner"], document, await database_sync_to_async(new_session)())

    def change() -> None:
        editor.set_password("a brand new secret")
        editor.save()

    await database_sync_to_async(change)()
    for peer in peers:
        assert await peer.wait_closed() == CloseCode.NOT_AUTHENTICATED
    assert await owner.nothing_more(0.3)
    await owner.close()


async def test_disabled_account_ends_every_session(personas, document):
    viewer = personas["viewer"]
    peer = await open_in(viewer, document, await database_sync_to_async(new_session)())

    def disable() -> None:
        viewer.is_active = False
        viewer.save(update_fields=["is_active"])

    await database_sync_to_async(disable)()
    assert await peer.wait_closed() == CloseCode.NOT_AUTHENTICATED


async def test_saving_a_user_without_such_changes_ends_nothing(personas, document):
    editor = personas["editor"]
    peer = await open_in(editor, document, await database_sync_to_async(new_session)())

    def rename() -> None:
        editor.first_name = "Renamed"
        editor.save()

    await database_sync_to_async(rename)()
    assert await peer.nothing_more(0.5)
    await peer.close()
