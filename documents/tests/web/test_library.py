"""The home's views: starred, shared with me, owned by me, recent; sorting; pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from documents.library.selectors import PAGE_SIZE
from documents.models import Document, Membership, Role

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(user, **params) -> list[str]:
    response = client_for(user).get(reverse("api-document-list"), params)
    assert response.status_code == 200, response.content[:300]
    return [d["title"] for d in response.json()["documents"]]


def _star(user, document, starred: str = "1") -> int:
    url = reverse("document-star", kwargs={"pk": document.pk})
    return client_for(user).post(url, {"starred": starred}).status_code


def test_starred_shows_what_i_starred_and_only_to_me(personas, document):
    other = Document.objects.create(owner=personas["owner"], title="Unstarred")
    assert _star(personas["editor"], document) == 302
    assert listed(personas["editor"], view="starred") == ["Test document"]
    assert listed(personas["owner"], view="starred") == []
    api = client_for(personas["editor"]).get(reverse("api-document-list")).json()["documents"]
    assert {d["title"]: d["starred"] for d in api} == {"Test document": True}
    assert _star(personas["owner"], other) == 302
    assert _star(personas["editor"], document, "0") == 302
    assert listed(personas["editor"], view="starred") == []
    assert listed(personas["owner"], view="starred") == ["Unstarred"]


def test_starring_needs_access_and_a_clear_value(personas, document):
    assert _star(personas["stranger"], document) == 404
    assert _star(personas["viewer"], document, "yes") == 400
    assert (
        client_for(personas["viewer"])
        .get(reverse("document-star", kwargs={"pk": document.pk}))
        .status_code
        == 405
    )


def test_star_returns_to_the_page_it_was_pressed_on(personas, document):
    url = reverse("document-star", kwargs={"pk": document.pk})
    here = reverse("document-list") + "?view=shared&sort=title"
    response = client_for(personas["viewer"]).post(url, {"starred": "1", "next": here})
    assert response["Location"] == here
    evil = client_for(personas["viewer"]).post(
        url, {"starred": "1", "next": "https://evil.example/"}
    )
    assert evil["Location"] == reverse("document-list")


def test_shared_with_me_and_owned_by_me(personas, document):
    Document.objects.create(owner=personas["editor"], title="Editor's own")
    assert listed(personas["editor"], view="shared") == ["Test document"]
    assert listed(personas["editor"], view="mine") == ["Editor's own"]
    assert sorted(listed(personas["editor"])) == ["Editor's own", "Test document"]
    assert listed(personas["owner"], view="shared") == []


def test_recent_is_what_i_opened_most_recent_first(personas, document):
    second = Document.objects.create(owner=personas["owner"], title="Second")
    Document.objects.create(owner=personas["owner"], title="Never opened")
    viewer_of_second = Membership.objects.create(
        document=second, user=personas["viewer"], role=Role.VIEWER
    )
    owner = client_for(personas["owner"])
    assert owner.get(reverse("document-edit", kwargs={"pk": second.pk})).status_code == 200
    assert owner.get(reverse("document-edit", kwargs={"pk": document.pk})).status_code == 200
    assert listed(personas["owner"], view="recent") == ["Test document", "Second"]
    owner.get(reverse("document-edit", kwargs={"pk": second.pk}))
    assert listed(personas["owner"], view="recent") == ["Second", "Test document"]
    # Each user's own opens; access taken away takes the document out of it too.
    viewer = client_for(personas["viewer"])
    viewer.get(reverse("document-edit", kwargs={"pk": second.pk}))
    assert listed(personas["viewer"], view="recent") == ["Second"]
    viewer_of_second.delete()
    assert listed(personas["viewer"], view="recent") == []


def test_sorting(personas):
    now = timezone.now()
    for i, title in enumerate(["banana", "Apple", "cherry"]):
        doc = Document.objects.create(owner=personas["owner"], title=title)
        Document.objects.filter(pk=doc.pk).update(
            created_at=now - timedelta(days=i), updated_at=now - timedelta(days=10 - i)
        )
    owner = personas["owner"]
    assert listed(owner, sort="title") == ["Apple", "banana", "cherry"]
    assert listed(owner, sort="created") == ["banana", "Apple", "cherry"]
    assert listed(owner, sort="edited") == ["cherry", "Apple", "banana"]
    assert listed(owner) == listed(owner, sort="edited")


def test_pages_of_fifty_without_gaps_or_repeats(personas):
    Document.objects.bulk_create(
        Document(owner=personas["owner"], title=f"Doc {i:03}") for i in range(PAGE_SIZE * 2 + 7)
    )
    seen: list[str] = []
    client = client_for(personas["owner"])
    for number in (1, 2, 3):
        body = client.get(reverse("api-document-list"), {"page": number, "sort": "title"}).json()
        assert body["page"] == number and body["has_next"] == (number < 3)
        seen += [d["title"] for d in body["documents"]]
    assert seen == [f"Doc {i:03}" for i in range(PAGE_SIZE * 2 + 7)]
    page = client.get(reverse("document-list"), {"page": 2, "sort": "title"}).content.decode()
    assert "Page 2" in page and "?sort=title&amp;page=3" in page and "?sort=title" in page
    assert listed(personas["owner"], page=4) == []


@pytest.mark.parametrize(
    "params",
    [
        {"view": "everything"},
        {"sort": "size"},
        {"page": "two"},
        {"page": "0"},
        {"page": "100000000000000000000"},
        {"folder": "x"},
        {"folder": "999999"},
    ],
)
def test_a_list_that_does_not_exist_is_a_clear_400(personas, params):
    page = client_for(personas["owner"]).get(reverse("document-list"), params)
    assert page.status_code == 400
    assert "That list does not exist" in page.content.decode()
    api = client_for(personas["owner"]).get(reverse("api-document-list"), params)
    assert api.status_code == 400 and api.json()["error"]


def test_views_are_linked_and_marked(personas, document):
    page = client_for(personas["owner"]).get(reverse("document-list"), {"view": "starred"})
    html = page.content.decode()
    assert "<h1>Starred</h1>" in html
    assert 'href="/?view=starred" aria-current="page"' in html
    assert 'href="/trash/"' in html


# Folders


def _folder(user, name: str):
    response = client_for(user).post(reverse("folder-create"), {"name": name})
    assert response.status_code == 302
    from documents.models import Folder

    return Folder.objects.get(owner=user, name=" ".join(name.split()))


def _move(user, document, folder) -> int:
    url = reverse("document-move", kwargs={"pk": document.pk})
    return client_for(user).post(url, {"folder": folder.pk if folder else ""}).status_code


def test_the_owner_files_documents_in_folders(personas, document):
    other = Document.objects.create(owner=personas["owner"], title="Loose")
    folder = _folder(personas["owner"], "  Work \n stuff ")
    assert folder.name == "Work stuff"
    assert _move(personas["owner"], document, folder) == 302
    assert listed(personas["owner"], folder=str(folder.pk)) == ["Test document"]
    # Still everywhere else it was, for everyone.
    assert sorted(listed(personas["owner"])) == ["Loose", "Test document"]
    assert listed(personas["editor"], view="shared") == ["Test document"]
    page = client_for(personas["owner"]).get(reverse("document-list"), {"folder": folder.pk})
    html = page.content.decode()
    assert "<h1>Work stuff</h1>" in html and "Loose" not in html.split("documents-data")[0]
    assert _move(personas["owner"], document, None) == 302
    assert listed(personas["owner"], folder=str(folder.pk)) == []
    assert other.folder_id is None


def test_folders_are_their_owners_alone(personas, document):
    folder = _folder(personas["owner"], "Mine")
    theirs = _folder(personas["editor"], "Theirs")
    # An editor may not file the owner's document; nobody files into another's folder.
    assert _move(personas["editor"], document, theirs) == 403
    assert _move(personas["owner"], document, theirs) == 404
    assert _move(personas["stranger"], document, folder) == 404
    for name in ("editor", "stranger"):
        client = client_for(personas[name])
        assert client.get(reverse("document-list"), {"folder": folder.pk}).status_code == 400
        rename = reverse("folder-rename", kwargs={"folder_id": folder.pk})
        assert client.post(rename, {"name": "Hijacked"}).status_code == 404
        delete = reverse("folder-delete", kwargs={"folder_id": folder.pk})
        assert client.post(delete).status_code == 404
    folder.refresh_from_db()
    assert folder.name == "Mine"


def test_folder_names_are_checked(personas):
    client = client_for(personas["owner"])
    _folder(personas["owner"], "Plans")
    for name, message in [
        ("   ", "A folder needs a name."),
        ("x" * 101, "at most 100 characters"),
        ("Plans", "You already have a folder named “Plans”."),
    ]:
        response = client.post(reverse("folder-create"), {"name": name}, follow=True)
        assert message in response.content.decode()
    from documents.models import Folder

    assert Folder.objects.filter(owner=personas["owner"]).count() == 1


def test_rename_and_delete_a_folder_keeps_its_documents(personas, document):
    folder = _folder(personas["owner"], "Old name")
    _move(personas["owner"], document, folder)
    client = client_for(personas["owner"])
    client.post(
        reverse("folder-rename", kwargs={"folder_id": folder.pk}), {"name": "New <b>name</b>"}
    )
    html = client.get(reverse("document-list")).content.decode()
    assert "New &lt;b&gt;name&lt;/b&gt;" in html and "<b>name</b>" not in html
    client.post(reverse("folder-delete", kwargs={"folder_id": folder.pk}))
    document.refresh_from_db()
    assert document.folder_id is None
    assert listed(personas["owner"]) == ["Test document"]


def test_moving_needs_a_real_folder_id(personas, document):
    url = reverse("document-move", kwargs={"pk": document.pk})
    for value in ("abc", "²", "9" * 30):
        assert client_for(personas["owner"]).post(url, {"folder": value}).status_code == 400
    assert (
        client_for(personas["owner"])
        .get(reverse("document-list"), {"folder": "9" * 30})
        .status_code
        == 400
    )


# Copies and templates


def _body(document) -> str:
    from documents.export.text import to_text
    from documents.storage import store

    return to_text(store.load(document.pk).update)


def test_anyone_who_can_open_a_document_can_copy_it(personas, document):
    from documents import services
    from documents.library.templates import TEMPLATES, fill
    from documents.storage import server_edits

    server_edits.edit_document(
        document_id=document.pk,
        user_id=personas["owner"].pk,
        mutate=lambda doc: fill(doc, TEMPLATES["project-plan"]),
    )
    services.document_rename(document=document, title="Plan", user=personas["owner"])
    url = reverse("document-duplicate", kwargs={"pk": document.pk})
    assert client_for(personas["stranger"]).post(url).status_code == 404
    assert client_for(personas["viewer"]).get(url).status_code == 405
    response = client_for(personas["viewer"]).post(url)
    assert response.status_code == 302
    copy = Document.objects.exclude(pk=document.pk).get()
    assert response["Location"] == reverse("document-edit", kwargs={"pk": copy.pk})
    assert copy.owner == personas["viewer"] and copy.title == "Copy of Plan"
    assert _body(copy) == _body(document) and "Milestones" in _body(copy)
    # The copy is the viewer's own: only they see it, and the original is untouched.
    assert listed(personas["viewer"], view="mine") == ["Copy of Plan"]
    assert "Copy of Plan" not in listed(personas["owner"])
    assert copy.snapshots.count() == 0 and copy.updates.count() == 1
    # Found by search at once.
    assert "Copy of Plan" in [
        d["title"]
        for d in client_for(personas["viewer"])
        .get(reverse("api-document-list"), {"q": "milestones"})
        .json()["documents"]
    ]


def test_a_copy_of_a_long_title_stays_within_the_limit(personas, document):
    from documents.library import copies

    Document.objects.filter(pk=document.pk).update(title="x" * 200)
    document.refresh_from_db()
    copy = copies.document_duplicate(document=document, user=personas["owner"])
    assert len(copy.title) == 200 and copy.title.startswith("Copy of x")


@pytest.mark.parametrize(
    ("key", "title", "heading"),
    [
        ("meeting-notes", "Meeting notes", "Action items"),
        ("project-plan", "Project plan", "Milestones"),
    ],
)
def test_a_document_from_a_template(personas, key, title, heading):
    response = client_for(personas["editor"]).post(
        reverse("document-from-template", kwargs={"key": key})
    )
    assert response.status_code == 302
    document = Document.objects.get(owner=personas["editor"])
    assert document.title == title
    assert heading in _body(document)
    page = client_for(personas["editor"]).get(reverse("document-edit", kwargs={"pk": document.pk}))
    assert page.status_code == 200


def test_templates_are_offered_and_unknown_ones_are_404(personas):
    html = client_for(personas["owner"]).get(reverse("document-list")).content.decode()
    assert "Meeting notes" in html and "Project plan" in html
    url = reverse("document-from-template", kwargs={"key": "nope"})
    assert client_for(personas["owner"]).post(url).status_code == 404
    assert not Document.objects.exists()
