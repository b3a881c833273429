"""Socket caps per user, and places kept for writers: no member, a viewer
least of all, can lock others out of a document by opening sockets."""

from __future__ import annotations

import pytest
from django.test import override_settings

from documents.realtime import protocol
from documents.realtime.close_codes import RETRY, CloseCode
from documents.tests.support.wsclient import PeerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]


async def opened(user, document) -> PeerClient:
    peer = await PeerClient(user, document.id).connect()
    first = await peer.receive_one()
    assert isinstance(first, protocol.SyncStep1), (first, peer.close_code, peer.denied)
    return peer


async def refused(user, document) -> tuple[int | None, list[str]]:
    peer = await PeerClient(user, document.id).connect()
    return await peer.wait_closed(), peer.denied


def test_the_per_user_code_is_one_the_client_retries():
    assert CloseCode.TOO_MANY_CONNECTIONS in RETRY


@override_settings(
    COLLAB={"MAX_CONNECTIONS_PER_USER_PER_DOCUMENT": 3, "MAX_CONNECTIONS_PER_DOCUMENT": 100}
)
async def test_one_user_has_a_cap_per_document(personas, document):
    viewer = [await opened(personas["viewer"], document) for _ in range(3)]
    code, denied = await refused(personas["viewer"], document)
    assert code == CloseCode.TOO_MANY_CONNECTIONS
    assert denied == ["too many of your connections are open"]
    # Others are not counted against the viewer's cap, nor the viewer against theirs.
    owner = await opened(personas["owner"], document)
    # Closing a tab makes room again.
    await viewer.pop().close()
    viewer.append(await opened(personas["viewer"], document))
    for peer in [*viewer, owner]:
        await peer.close()


@override_settings(
    COLLAB={
        "MAX_CONNECTIONS_PER_USER": 4,
        "MAX_CONNECTIONS_PER_USER_PER_DOCUMENT": 3,
        "MAX_CONNECTIONS_PER_DOCUMENT": 100,
    }
)
async def test_one_user_has_a_cap_over_all_documents(personas, document, django_user_model):
    from channels.db import database_sync_to_async

    from documents.models import Document, Membership, Role

    def second_document() -> Document:
        other = Document.objects.create(title="Other", owner=personas["owner"])
        Membership.objects.create(document=other, user=personas["viewer"], role=Role.VIEWER)
        return other

    other = await database_sync_to_async(second_document)()
    peers = [await opened(personas["viewer"], document) for _ in range(3)]
    peers.append(await opened(personas["viewer"], other))
    code, _ = await refused(personas["viewer"], other)
    assert code == CloseCode.TOO_MANY_CONNECTIONS
    for peer in peers:
        await peer.close()


@override_settings(
    COLLAB={"MAX_CONNECTIONS_PER_USER_PER_DOCUMENT": 100, "MAX_CONNECTIONS_PER_DOCUMENT": 10}
)
async def test_viewers_cannot_take_the_places_kept_for_writers(personas, document):
    viewer = [await opened(personas["viewer"], document) for _ in range(9)]
    code, denied = await refused(personas["viewer"], document)
    assert code == CloseCode.ROOM_FULL
    assert denied == ["too many editors on this document"]
    # The last place (a tenth of ten) is the owner's or an editor's.
    owner = await opened(personas["owner"], document)
    code, _ = await refused(personas["editor"], document)
    assert code == CloseCode.ROOM_FULL  # and the cap itself still holds
    for peer in [*viewer, owner]:
        await peer.close()
