"""Who may do what: every persona against every path, each cell asserted."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from pycrdt import XmlElement, XmlFragment, XmlText

from documents.models import Document, Snapshot
from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.realtime.registry import registry
from documents.sharing import services as sharing
from documents.storage import server_edits, store
from documents.tests.support.sessions import session_cookie
from documents.tests.support.wsclient import PeerClient

pytestmark = pytest.mark.django_db(transaction=True)

PERSONAS = ["anonymous", "stranger", "viewer", "editor", "owner", "link_holder"]


@pytest.fixture
def cast(personas, document, django_user_model):
    """The six personas; the link holder gained the editor role by opening a share link."""
    link = sharing.link_create(document=document, by=personas["owner"], role="editor")
    holder = django_user_model.objects.create(username="holder", first_name="Holder")
    sharing.link_redeem(token=link.token, user=holder)
    store.compact(document.id, label="first version")
    server_edits.edit_document(document_id=document.id, user_id=None, mutate=write_paragraph)
    return {**personas, "anonymous": AnonymousUser(), "link_holder": holder}


def write_paragraph(doc) -> None:
    """Body content that differs from the saved version, so a restore has work to do."""
    body = doc.get("default", type=XmlFragment)
    body.children.append(XmlElement("paragraph", contents=[XmlText("changed since")]))


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
    "stranger": CloseCode.NOT_FOUND,  # as over HTTP: no hint the document exists
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
    document.refresh_from_db()
    before = store.load(document.id).update
    _, denied, landed = run_socket(cast[persona], document, write=True)
    assert landed == SOCKET_WRITE[persona]
    assert (denied == ["read-only access"]) == (not SOCKET_WRITE[persona])
    changed = store.load(document.id).update != before
    assert changed == SOCKET_WRITE[persona]


LOGIN = "login"  # a redirect to the login page

# Expected status per path (rows) and persona (columns); LOGIN is a redirect to log in.
# fmt: off
PAGE_COLUMNS = ["anonymous", "stranger", "viewer", "editor", "owner", "link_holder"]
PAGE_ROWS: dict[str, list[int | str]] = {
    "editor_page":   [LOGIN, 404, 200, 200, 200, 200],
    "document_list": [LOGIN, 200, 200, 200, 200, 200],
    "rename":        [LOGIN, 404, 403, 302, 302, 302],
    "delete":        [LOGIN, 404, 403, 403, 302, 403],
    "share":         [401,   404, 403, 403, 200, 403],
    "api_detail":    [401,   404, 200, 200, 200, 200],
    "export":        [LOGIN, 404, 200, 200, 200, 200],
    "history":       [401,   404, 200, 200, 200, 200],
    "restore":       [401,   404, 403, 200, 200, 200],
}
# fmt: on
PAGE_CELLS = {path: dict(zip(PAGE_COLUMNS, row, strict=True)) for path, row in PAGE_ROWS.items()}


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
    if path == "export":
        return client.get(reverse("document-export", kwargs={"pk": pk, "fmt": "txt"}))
    if path == "history":
        return client.get(reverse("api-document-history", kwargs={"pk": pk}))
    if path == "restore":
        version = Snapshot.objects.filter(document=document).latest("seq")
        url = reverse("api-document-history-restore", kwargs={"pk": pk, "snapshot_id": version.pk})
        return client.post(url)
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
    # The owner's delete moves the document to the trash.
    exists = Document.objects.alive().filter(pk=document.pk).exists()
    assert exists == (path != "delete" or expected != 302)
    if path == "document_list" and expected == 200:
        listed = str(document.pk) in response.content.decode()
        assert listed == (persona != "stranger")
    if path == "rename":
        title = Document.objects.get(pk=document.pk).title
        assert (title == "Renamed") == (expected == 302)
    if path == "restore":
        restored = Snapshot.objects.filter(document=document, label__startswith="Before").exists()
        assert restored == (expected == 200)


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [("http://127.0.0.1:8000", True), ("http://evil.example", False), (None, False)],
)
def test_cross_origin_sockets_are_refused(personas, document, origin, accepted):
    from channels.testing import WebsocketCommunicator

    from editor_project.asgi import application

    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"cookie", session_cookie(personas["owner"]).encode()),
    ]
    if origin:
        headers.append((b"origin", origin.encode()))

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/documents/{document.id}", headers)
        connected, _ = await communicator.connect()
        if connected:
            greeting = await communicator.receive_from()
            await communicator.disconnect()
            await registry().close()
            return protocol.decode(greeting)
        return None

    greeting = async_to_sync(scenario)()
    assert (greeting is not None) == accepted
    if accepted:
        assert isinstance(greeting, protocol.SyncStep1)


def test_forms_require_a_csrf_token(personas, document):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["owner"])
    response = client.post(reverse("document-rename", kwargs={"pk": document.pk}), {"title": "x"})
    assert response.status_code == 403
    response = client.post(
        reverse("api-access", kwargs={"pk": document.pk}),
        json.dumps({"user": "stranger", "role": "viewer"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Document.objects.get(pk=document.pk).title == "Test document"


@pytest.mark.parametrize("trashed", [False, True])
def test_the_sockets_one_query_agrees_with_the_rules(
    cast, document, trashed, django_assert_num_queries
):
    """document_role_and_color: the role every other path computes, and the
    profile's colour, for every persona, read in one query."""
    from django.utils import timezone

    from documents.identity import chosen_color, palette_color
    from documents.models import Profile
    from documents.permissions import document_role, document_role_and_color

    Profile.objects.create(user=cast["editor"], caret_color="#3cb44b")
    Profile.objects.create(user=cast["viewer"], caret_color="<x>\"'")
    if trashed:
        Document.objects.filter(pk=document.pk).update(trashed_at=timezone.now())
    for name, user in cast.items():
        expected_document, expected_role = document_role(user, document.id)
        expected_color = chosen_color(user) if user.is_authenticated else ""
        fresh = type(user).objects.get(pk=user.pk) if user.is_authenticated else user
        with django_assert_num_queries(1):
            got_document, role, color = document_role_and_color(fresh, document.id)
        assert role == expected_role, name
        assert (got_document is None) == (expected_document is None), name
        # The stored value is passed on as it is; identity() keeps only palette
        # colours. No document, no colour: the socket is refused anyway.
        assert palette_color(color) == (expected_color if got_document else ""), name
    assert document_role_and_color(cast["owner"], uuid4())[:2] == (None, None)


def test_a_sockets_identity_keeps_only_palette_colours(personas):
    from documents.identity import PALETTE, identity, user_color

    editor = personas["editor"]
    assert identity(editor, "#3cb44b")["color"] == "#3cb44b"
    # A stored value outside the palette, or none, falls back to the id's colour.
    assert identity(editor, "<x>\"'")["color"] == user_color(editor)
    assert identity(editor, "")["color"] == user_color(editor) in PALETTE
    assert identity(editor, "") == identity(editor)
