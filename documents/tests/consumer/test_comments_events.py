"""The comments' events socket (/ws/events/) and the commenter on the Yjs socket."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings
from django.utils import timezone

from documents.comments import services
from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.sharing import services as sharing
from documents.storage import store
from documents.tests.support.wsclient import PeerClient, application_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]


@pytest.fixture
def commenter(personas, document, django_user_model):
    user = django_user_model.objects.create(username="commenter", first_name="Cora")
    sharing.access_grant(document=document, by=personas["owner"], who="commenter", role="commenter")
    return user


async def events_for(user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application_for(user), "/ws/events/")
    connected, _ = await comm.connect()
    assert connected
    return comm


async def subscribe(comm: WebsocketCommunicator, document) -> dict:
    await comm.send_to(text_data=json.dumps({"subscribe": str(document.pk)}))
    return json.loads(await comm.receive_from(timeout=2))


async def next_event(comm: WebsocketCommunicator, timeout: float = 2) -> dict:
    return json.loads(await comm.receive_from(timeout=timeout))


def comment_on(document, user, body: str = "A comment"):
    return database_sync_to_async(services.thread_create)(
        document=document, by=user, anchor_from=b"\x01", anchor_to=b"\x02", quote="q", body=body
    )


async def test_a_commenter_s_writes_to_the_text_are_dropped(document, commenter):
    peer = await PeerClient(commenter, document.id).connect()
    await peer.sync()
    before = (await database_sync_to_async(store.load)(document.id)).update
    await peer.edit("typed by a commenter")
    denial = await peer.receive_one()
    assert isinstance(denial, protocol.AuthMessage)
    assert peer.denied == ["read-only access"]
    assert (await database_sync_to_async(store.load)(document.id)).update == before
    await peer.close()


async def test_thread_changes_reach_subscribed_pages_live(personas, document, commenter):
    viewer = await events_for(personas["viewer"])
    assert await subscribe(viewer, document) == {
        "type": "subscribed",
        "document": str(document.pk),
        "role": "viewer",
    }
    posted = await comment_on(document, commenter)
    event = await next_event(viewer)
    assert event["type"] == "thread"
    assert event["document"] == str(document.pk)
    assert event["thread"]["comments"][0]["body"] == "A comment"
    await database_sync_to_async(services.thread_resolve)(
        thread=posted.comment.thread, by=personas["owner"], resolved=True
    )
    assert (await next_event(viewer))["thread"]["resolved"] is True
    await database_sync_to_async(services.comment_delete)(comment=posted.comment, by=commenter)
    removed = await next_event(viewer)
    assert (removed["id"], removed["thread"]) == (posted.comment.thread_id, None)
    await viewer.disconnect()


async def test_a_stranger_cannot_subscribe_and_hears_nothing(personas, document):
    stranger = await events_for(personas["stranger"])
    assert await subscribe(stranger, document) == {
        "type": "error",
        "document": str(document.pk),
        "error": "not found",
    }
    await comment_on(document, personas["owner"])
    assert await stranger.receive_nothing(timeout=0.5)
    await stranger.disconnect()


async def test_removed_access_unsubscribes_at_once(personas, document):
    editor = await events_for(personas["editor"])
    await subscribe(editor, document)
    await database_sync_to_async(sharing.access_revoke)(
        document=document, by=personas["owner"], user_id=personas["editor"].pk
    )
    assert await next_event(editor) == {
        "type": "access",
        "document": str(document.pk),
        "role": None,
    }
    await comment_on(document, personas["owner"])
    assert await editor.receive_nothing(timeout=0.5)
    await editor.disconnect()


async def test_a_role_change_is_told_to_the_page(personas, document):
    viewer = await events_for(personas["viewer"])
    await subscribe(viewer, document)
    await database_sync_to_async(sharing.access_grant)(
        document=document, by=personas["owner"], user_id=personas["viewer"].pk, role="commenter"
    )
    assert (await next_event(viewer))["role"] == "commenter"
    await viewer.disconnect()


async def test_a_mention_reaches_the_person_live_without_subscribing(personas, document):
    editor = await events_for(personas["editor"])
    await comment_on(document, personas["owner"], body="@editor have a look")
    event = await next_event(editor)
    assert event["type"] == "notification"
    assert event["notification"]["kind"] == "mention"
    assert event["notification"]["excerpt"] == "@editor have a look"
    await editor.disconnect()


async def test_anonymous_is_refused():
    comm = WebsocketCommunicator(application_for(AnonymousUser()), "/ws/events/")
    connected, _ = await comm.connect()
    assert connected  # accepted only to be told why
    closed = await comm.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": CloseCode.NOT_AUTHENTICATED}


@pytest.mark.parametrize("frame", ["not json", '{"subscribe": "nope"}', "[]", "x" * 2000])
async def test_bad_frames_close_the_socket(personas, frame):
    comm = await events_for(personas["owner"])
    await comm.send_to(text_data=frame)
    closed = await comm.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": CloseCode.BAD_FRAME}


async def test_the_end_of_every_session_closes_the_socket(personas, document):
    from documents.realtime.sessions import sessions_end

    editor = await events_for(personas["editor"])
    await subscribe(editor, document)
    await database_sync_to_async(sessions_end)(user_id=personas["editor"].pk, session_key=None)
    closed = await editor.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": CloseCode.NOT_AUTHENTICATED}


# -- a document trashed or deleted -------------------------------------------------


def trash_document(document, user):
    from documents.library import trash

    return database_sync_to_async(trash.document_trash)(document=document, user=user)


async def test_trashing_a_document_unsubscribes_every_page(personas, document):
    from documents.comments import events as comment_events

    owner = await events_for(personas["owner"])
    viewer = await events_for(personas["viewer"])
    await subscribe(owner, document)
    await subscribe(viewer, document)
    await trash_document(document, personas["owner"])
    cut = {"type": "access", "document": str(document.pk), "role": None}
    assert await next_event(owner) == cut
    assert await next_event(viewer) == cut
    # Unsubscribed: a thread event sent to the document's group reaches neither.
    await database_sync_to_async(comment_events.thread_removed)(document.pk, 1)
    assert await owner.receive_nothing(timeout=0.5)
    assert await viewer.receive_nothing(timeout=0.5)
    # Nor can they follow it again while it is in the trash.
    assert (await subscribe(viewer, document))["error"] == "not found"
    await owner.disconnect()
    await viewer.disconnect()


async def test_a_restored_document_can_be_followed_again(personas, document):
    from documents.library import trash

    owner = await events_for(personas["owner"])
    await subscribe(owner, document)
    await trash_document(document, personas["owner"])
    assert (await next_event(owner))["role"] is None
    await database_sync_to_async(trash.document_restore)(
        document_id=document.pk, user=personas["owner"]
    )
    assert await subscribe(owner, document) == {
        "type": "subscribed",
        "document": str(document.pk),
        "role": "owner",
    }
    await comment_on(document, personas["editor"])
    assert (await next_event(owner))["type"] == "thread"
    await owner.disconnect()


async def test_deleting_a_document_forever_unsubscribes_pages(personas, document):
    from documents.library import trash
    from documents.models import Document

    editor = await events_for(personas["editor"])
    await subscribe(editor, document)

    def trashed_without_a_word() -> None:
        # As a page that subscribed in the instant before the trash: no event yet.
        Document.objects.filter(pk=document.pk).update(trashed_at=timezone.now())

    await database_sync_to_async(trashed_without_a_word)()
    await database_sync_to_async(trash.document_delete_forever)(
        document_id=document.pk, user=personas["owner"]
    )
    assert await next_event(editor) == {
        "type": "access",
        "document": str(document.pk),
        "role": None,
    }
    await editor.disconnect()


async def test_deleting_a_document_at_once_unsubscribes_pages(personas, document):
    from documents import services as document_services

    viewer = await events_for(personas["viewer"])
    await subscribe(viewer, document)
    await database_sync_to_async(document_services.document_delete)(
        document=document, user=personas["owner"]
    )
    assert (await next_event(viewer))["role"] is None
    await viewer.disconnect()


async def test_pages_of_other_documents_hear_nothing_of_a_trash(personas, document):
    from documents.models import Document

    other = await database_sync_to_async(Document.objects.create)(
        title="Other", owner=personas["owner"]
    )
    owner = await events_for(personas["owner"])
    await subscribe(owner, other)
    await trash_document(document, personas["owner"])
    assert await owner.receive_nothing(timeout=0.5)
    await comment_on(other, personas["owner"])
    assert (await next_event(owner))["type"] == "thread"
    await owner.disconnect()


# -- sockets per user ----------------------------------------------------------------


def test_the_events_cap_code_is_one_clients_retry():
    from documents.realtime.close_codes import RETRY

    assert CloseCode.TOO_MANY_CONNECTIONS in RETRY


@override_settings(COLLAB={"MAX_EVENTS_SOCKETS_PER_USER": 3})
async def test_a_user_may_hold_only_so_many_events_sockets(personas, document):
    sockets = [await events_for(personas["editor"]) for _ in range(3)]
    refused = WebsocketCommunicator(application_for(personas["editor"]), "/ws/events/")
    connected, _ = await refused.connect()
    assert connected  # accepted only to say why
    assert await refused.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": CloseCode.TOO_MANY_CONNECTIONS,
        "reason": "too many of your connections are open",
    }
    # Another user is not counted against the editor's cap.
    owner = await events_for(personas["owner"])
    await subscribe(owner, document)
    # A refused socket joined nothing: it hears no notification.
    await comment_on(document, personas["owner"], body="@editor look")
    for comm in sockets:
        assert (await next_event(comm))["type"] == "notification"
    assert await refused.receive_nothing(timeout=0.3)
    # Closing one makes room for the next.
    await sockets.pop().disconnect()
    sockets.append(await events_for(personas["editor"]))
    assert await subscribe(sockets[-1], document) == {
        "type": "subscribed",
        "document": str(document.pk),
        "role": "editor",
    }
    for comm in [*sockets, owner]:
        await comm.disconnect()
