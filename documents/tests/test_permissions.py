"""Who may do what: every persona against every path, each cell asserted."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from documents import protocol, sharing
from documents.close_codes import CloseCode
from documents.models import Document
from documents.registry import registry
from documents.tests.wsclient import PeerClient

pytestmark = pytest.mark.django_db(transaction=True)

PERSONAS = ["anonymous", "stranger", "viewer", "editor", "owner", "link_holder"]


@pytest.fixture
def cast(personas, document, django_user_model):
    """The six personas; the link holder gained the editor role by opening a share link."""
    link = sharing.link_create(document=document, by=personas["owner"], role="editor")
    holder = django_user_model.objects.create(username="holder", first_name="Holder")
    sharing.link_redeem(token=link.token, user=holder)
    return {**personas, "anonymous": AnonymousUser(), "link_holder": holder}


def client_for(user) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


def run_socket(user, document, write: bool) -> tuple[int | None, list[str], bool]:
    """Connect (and maybe write); the close code, denials, and whether the write landed."""

    async def scenario():
        peer = PeerClient(user, document.id)
        await peer.connect()
        message = await peer.receive_one()
        if message is None or isinstance(message, protocol.AuthMessage):
            await peer.wait_closed()
            return peer.close_code, peer.denied, False
        await peer.sync()
        landed = False
        if write:
            await peer.edit("written")
            # No echo for an accepted write; a denial for a refused one.
            landed = await peer.nothing_more(0.5) or not isinstance(
                await peer.receive_one(), protocol.AuthMessage
            )
        await peer.close()
        await registry().close()
        return None, peer.denied, landed

    return async_to_sync(scenario)()


SOCKET_CONNECT = {
    "anonymous": CloseCode.NOT_AUTHENTICATED,
    "stranger": CloseCode.FORBIDDEN,
    "viewer": None,
    "editor": None,
    "owner": None,
    "link_holder": None,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_socket_connect(cast, document, persona):
    code, denied, _ = run_socket(cast[persona], document, write=False)
    assert code == SOCKET_CONNECT[persona]
    assert bool(denied) == (code is not None)


SOCKET_WRITE = {"viewer": False, "editor": True, "owner": True, "link_holder": True}


@pytest.mark.parametrize("persona", list(SOCKET_WRITE))
def test_socket_write(cast, document, persona):
    from documents import store

    _, denied, landed = run_socket(cast[persona], document, write=True)
    assert landed == SOCKET_WRITE[persona]
    assert (denied == ["read-only access"]) == (not SOCKET_WRITE[persona])
    document.refresh_from_db()
    assert (document.last_seq > 0) == SOCKET_WRITE[persona]
    assert (store.load(document.id).update != store.EMPTY_UPDATE) == SOCKET_WRITE[persona]


LOGIN = "login"  # a redirect to the login page

PAGE_CELLS = {
    # path: {persona: expected status}
    "editor_page": {
        "anonymous": LOGIN,
        "stranger": 404,
        "viewer": 200,
        "editor": 200,
        "owner": 200,
        "link_holder": 200,
    },
    "document_list": {
        "anonymous": LOGIN,
        "stranger": 200,
        "viewer": 200,
        "editor": 200,
        "owner": 200,
        "link_holder": 200,
    },
    "rename": {
        "anonymous": LOGIN,
        "stranger": 404,
        "viewer": 403,
        "editor": 302,
        "owner": 302,
        "link_holder": 302,
    },
    "delete": {
        "anonymous": LOGIN,
        "stranger": 404,
        "viewer": 403,
        "editor": 403,
        "owner": 302,
        "link_holder": 403,
    },
    "share": {
        "anonymous": 401,
        "stranger": 404,
        "viewer": 403,
        "editor": 403,
        "owner": 200,
        "link_holder": 403,
    },
    "api_detail": {
        "anonymous": 401,
        "stranger": 404,
        "viewer": 200,
        "editor": 200,
        "owner": 200,
        "link_holder": 200,
    },
}


def request_cell(path: str, client: Client, document: Document, personas):
    pk = document.pk
    if path == "editor_page":
        return client.get(reverse("document-edit", kwargs={"pk": pk}))
    if path == "document_list":
        return client.get(reverse("document-list"))
    if path == "rename":
        return client.post(reverse("document-rename", kwargs={"pk": pk}), {"title": "Renamed"})
    if path == "delete":
        return client.post(reverse("document-delete", kwargs={"pk": pk}))
    if path == "share":
        return client.post(
            reverse("api-access", kwargs={"pk": pk}),
            json.dumps({"user": "stranger", "role": "viewer"}),
            content_type="application/json",
        )
    if path == "api_detail":
        return client.get(reverse("api-document-detail", kwargs={"pk": pk}))
    raise AssertionError(path)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("path", list(PAGE_CELLS))
def test_http_paths(cast, document, persona, path):
    response = request_cell(path, client_for(cast[persona]), document, cast)
    expected = PAGE_CELLS[path][persona]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected, response.content[:300]
    exists = Document.objects.filter(pk=document.pk).exists()
    assert exists == (path != "delete" or expected != 302)
    if path == "document_list" and expected == 200:
        listed = str(document.pk) in response.content.decode()
        assert listed == (persona != "stranger")
    if path == "rename":
        title = Document.objects.get(pk=document.pk).title
        assert (title == "Renamed") == (expected == 302)
