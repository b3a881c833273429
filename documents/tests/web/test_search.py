"""Search: titles and bodies of the documents one can open, ranked, the matching passage
highlighted and escaped; strangers' and trashed documents never show up."""

from __future__ import annotations

import asyncio

import pytest
from django.test import Client
from django.urls import reverse
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from devtools.waiting import eventually
from documents.library import search, trash
from documents.library.models import DocumentText
from documents.models import Document, Membership, Role
from documents.realtime import text_mirror

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def results(user, query: str, **params) -> list[dict]:
    response = client_for(user).get(reverse("api-document-list"), {"q": query, **params})
    assert response.status_code == 200, response.content[:300]
    return response.json()["documents"]


def titles(user, query: str) -> list[str]:
    return [d["title"] for d in results(user, query)]


def _doc(owner, title: str, body: str = "") -> Document:
    document = Document.objects.create(owner=owner, title=title)
    search.text_save(document_id=document.pk, body=body)
    return document


@pytest.fixture(params=["full_text", "fallback"])
def backend(request, monkeypatch):
    """Both ways of searching: PostgreSQL full-text, and the plain match SQLite uses."""
    if request.param == "fallback":
        monkeypatch.setattr(search, "is_full_text", lambda: False)
    else:
        assert search.is_full_text(), "the tests run on PostgreSQL"
    return request.param


def test_finds_words_in_titles_and_bodies(personas, backend):
    owner = personas["owner"]
    _doc(owner, "Quarterly budget", "Numbers for the board.")
    _doc(owner, "Trip notes", "We met the budget committee in Lisbon.")
    _doc(owner, "Recipes", "Nothing about money here.")
    assert sorted(titles(owner, "budget")) == ["Quarterly budget", "Trip notes"]
    # Every word must match, as a prefix: results follow as one types.
    assert titles(owner, "budg lisb") == ["Trip notes"]
    assert titles(owner, "BUDGET Numbers") == ["Quarterly budget"]
    assert titles(owner, "nowhere") == []


def test_a_title_match_ranks_above_a_body_match(personas):
    owner = personas["owner"]
    _doc(owner, "Roadmap", "The launch is in May.")
    _doc(owner, "Launch plan", "Dates and owners.")
    assert titles(owner, "launch") == ["Launch plan", "Roadmap"]


def test_the_matching_passage_is_highlighted_and_escaped(personas, backend):
    owner = personas["owner"]
    body = (
        "Intro. " * 40 + "The <script>alert(1)</script> secret handshake is here. " + "Outro. " * 40
    )
    _doc(owner, "Hostile <b>title</b>", body)
    [hit] = results(owner, "handshake")
    matched = [part["text"].lower() for part in hit["snippet"] if part["match"]]
    assert matched == ["handshake"]
    text = "".join(part["text"] for part in hit["snippet"])
    assert "secret handshake" in text and len(text) < 400
    page = client_for(owner).get(reverse("document-list"), {"q": "handshake"}).content.decode()
    assert "<mark>handshake</mark>" in page
    if backend == "fallback":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page, page[page.index("<script>alert") - 300 :][:400]
    assert "<b>title</b>" not in page


def test_title_words_are_marked(personas, backend):
    owner = personas["owner"]
    _doc(owner, "Meeting notes for Monday")
    [hit] = results(owner, "meet")
    assert [p for p in hit["title_parts"] if p["match"]] == [{"text": "Meeting", "match": True}]


def test_strangers_documents_never_show_up(personas, backend):
    mine = _doc(personas["owner"], "Secret plan", "launch codes")
    _doc(personas["stranger"], "Stranger's plan", "launch codes")
    Membership.objects.create(document=mine, user=personas["viewer"], role=Role.VIEWER)
    assert titles(personas["owner"], "launch") == ["Secret plan"]
    assert titles(personas["viewer"], "launch") == ["Secret plan"]
    assert titles(personas["editor"], "launch") == []
    assert titles(personas["stranger"], "secret") == []


def test_trashed_documents_never_show_up(personas, backend):
    document = _doc(personas["owner"], "Old plan", "launch codes")
    trash.document_trash(document=document, user=personas["owner"])
    assert titles(personas["owner"], "launch") == []
    assert titles(personas["owner"], "old") == []


@pytest.mark.parametrize(
    "query", ["'&|!:*()", "a & b | !c", "\\", "<script>", "x" * 5000, "日本語 текст", "😀"]
)
def test_any_query_is_answered(personas, query):
    _doc(personas["owner"], "日本語 notes", "текст here")
    response = client_for(personas["owner"]).get(reverse("document-list"), {"q": query})
    assert response.status_code == 200
    assert (
        client_for(personas["owner"]).get(reverse("api-document-list"), {"q": query}).status_code
        == 200
    )


def test_search_reads_unicode_words(personas):
    _doc(personas["owner"], "Заметки", "встреча в понедельник")
    assert titles(personas["owner"], "встреч") == ["Заметки"]


def test_search_stays_within_a_view(personas):
    shared = _doc(personas["owner"], "Shared plan", "launch")
    _doc(personas["editor"], "Own plan", "launch")
    Membership.objects.create(document=shared, user=personas["editor"], role=Role.EDITOR)
    found = results(personas["editor"], "launch", view="shared")
    assert [d["title"] for d in found] == ["Shared plan"]


def test_a_rename_is_found_at_once(personas, backend):
    from documents import services

    document = services.document_create(owner=personas["owner"], title="Draft")
    assert titles(personas["owner"], "draft") == ["Draft"]
    services.document_rename(document=document, title="Budget 2027", user=personas["owner"])
    assert titles(personas["owner"], "budget") == ["Budget 2027"]
    assert titles(personas["owner"], "draft") == []


def test_bodies_are_stored_bounded_and_without_nul(personas):
    document = _doc(
        personas["owner"], "Big", "a\x00b\x02c\x03d" + "x" * (search.MAX_BODY_CHARS + 10)
    )
    stored = DocumentText.objects.get(pk=document.pk).body
    assert stored.startswith("a b c d") and len(stored) == search.MAX_BODY_CHARS


def test_a_save_replaces_the_text_and_takes_the_shared_documents_title(personas, backend):
    owner = personas["owner"]
    document = _doc(owner, "Stored title", "first words")
    search.text_save(document_id=document.pk, body="second words", title="Shared title")
    assert DocumentText.objects.get(pk=document.pk).body == "second words"
    assert titles(owner, "second") == ["Stored title"]  # the list shows Document.title
    assert titles(owner, "first") == []
    if backend == "full_text":
        # The index holds the title editors see in the document, weighted as a title.
        assert titles(owner, "shared") == ["Stored title"]


def test_a_save_for_a_document_deleted_meanwhile_stores_nothing(personas):
    # PostgreSQL's statement joins the document. (The ORM's fallback relies on the
    # foreign key, checked at commit: inside a test's transaction it never is.)
    document = _doc(personas["owner"], "Gone soon", "words")
    document_id = document.pk
    document.delete()
    search.text_save(document_id=document_id, body="late words", title="Late")
    assert not DocumentText.objects.filter(pk=document_id).exists()


def _paragraph(doc: Doc, text: str) -> None:
    fragment = doc.get("default", type=XmlFragment)
    fragment.children.append(XmlElement("paragraph", {}, [XmlText(text)]))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rooms")
async def test_the_mirror_saves_after_a_pause_not_per_keystroke(personas, monkeypatch):
    monkeypatch.setattr(text_mirror, "SAVE_AFTER_SECONDS", 0.2)
    from channels.db import database_sync_to_async

    document = await Document.objects.acreate(owner=personas["owner"], title="Typed")
    doc: Doc = Doc()
    mirror = text_mirror.TextMirror(document.pk, doc)
    writes: list[str] = []
    real_save = search.text_save

    def counting_save(*, document_id, body, title):
        writes.append(body)
        real_save(document_id=document_id, body=body, title=title)

    monkeypatch.setattr(search, "text_save", counting_save)
    for word in ("zebra", "corn", "unicorn"):
        _paragraph(doc, word)
        mirror.changed()
        await asyncio.sleep(0.02)

    async def stored() -> str:
        row = await DocumentText.objects.filter(pk=document.pk).afirst()
        return row.body if row else ""

    assert "unicorn" in await eventually(stored, within=5)
    # One write for the burst (the one on open was folded into it).
    assert len(writes) == 1
    found = await database_sync_to_async(titles)(personas["owner"], "unicorn")
    assert found == ["Typed"]
    await mirror.close()
