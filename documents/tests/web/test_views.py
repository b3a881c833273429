"""The pages and the JSON API: who sees what, and what each role may do."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from documents import services
from documents.models import Document, Membership, Role

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(username: str):
    return User.objects.create_user(username=username, password="pw-" + username + "-123!")


@pytest.fixture
def owner():
    return _user("olivia")


@pytest.fixture
def editor_user():
    return _user("eddie")


@pytest.fixture
def viewer():
    return _user("vera")


@pytest.fixture
def stranger():
    return _user("stan")


@pytest.fixture
def document(owner, editor_user, viewer):
    doc = services.document_create(owner=owner, title="Plans")
    Membership.objects.create(document=doc, user=editor_user, role=Role.EDITOR)
    Membership.objects.create(document=doc, user=viewer, role=Role.VIEWER)
    return doc


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def editor_config(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="editor-config" type="application/json">')
    start = html.index(">", start) + 1
    end = html.index("</script>", start)
    return json.loads(html[start:end])


# Logging in


def test_anonymous_is_sent_to_login(client, document):
    for url in (reverse("document-list"), reverse("document-edit", kwargs={"pk": document.pk})):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# The list


def test_list_shows_own_and_shared_documents_with_roles(owner, editor_user, document):
    mine = services.document_create(owner=editor_user, title="Eddie's notes")
    response = client_for(editor_user).get(reverse("document-list"))
    assert response.status_code == 200
    rows = {row["document"].pk: row for row in response.context["rows"]}
    assert rows[document.pk]["role"] == Role.EDITOR
    assert rows[mine.pk]["role"] == Role.OWNER
    assert b"Plans" in response.content
    assert b"Shared by olivia" in response.content


def test_list_is_newest_first(owner):
    first = services.document_create(owner=owner, title="First")
    second = services.document_create(owner=owner, title="Second")
    services.document_rename(document=first, title="First, edited", user=owner)
    rows = client_for(owner).get(reverse("document-list")).context["rows"]
    assert [row["document"].pk for row in rows] == [first.pk, second.pk]


def test_list_says_when_each_document_was_edited(owner):
    fresh = services.document_create(owner=owner, title="Fresh")
    older = services.document_create(owner=owner, title="Older")
    Document.objects.filter(pk=older.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5, seconds=3)
    )
    html = client_for(owner).get(reverse("document-list")).content.decode()
    assert re.search(rf'data-document-id="{fresh.pk}".*?edited <time[^>]*>just now<', html, re.S)
    assert re.search(rf'data-document-id="{older.pk}".*?>5\xa0minutes ago<', html, re.S)


def test_list_hides_documents_of_others(stranger, document):
    response = client_for(stranger).get(reverse("document-list"))
    assert response.context["rows"] == []
    assert b"Plans" not in response.content


def test_list_shows_who_is_online(monkeypatch, owner, document):
    from documents.presence import online as presence_registry

    def online_users(document_ids):
        return {document.pk: [{"id": 99, "name": "Zed Zimmer", "color": "#4363d8"}]}

    monkeypatch.setattr(presence_registry, "online_users", online_users)
    response = client_for(owner).get(reverse("document-list"))
    assert b'title="Zed Zimmer is here"' in response.content
    assert b">ZZ<" in response.content


def test_list_renders_when_presence_fails(monkeypatch, owner, document):
    from documents.presence import online as presence_registry

    def broken(document_ids):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(presence_registry, "online_users", broken)
    assert client_for(owner).get(reverse("document-list")).status_code == 200


# Create


def test_create_redirects_to_the_editor(owner):
    response = client_for(owner).post(reverse("document-create"), {"title": "  Road map "})
    doc = Document.objects.get(owner=owner)
    assert response.status_code == 302
    assert response["Location"] == reverse("document-edit", kwargs={"pk": doc.pk})
    assert doc.title == "Road map"


def test_create_without_title_is_untitled(owner):
    client_for(owner).post(reverse("document-create"))
    assert Document.objects.get(owner=owner).title == "Untitled document"


def test_create_needs_post(owner):
    assert client_for(owner).get(reverse("document-create")).status_code == 405


# The editor page


def test_editor_page_carries_config_for_the_bundle(owner, document):
    response = client_for(owner).get(reverse("document-edit", kwargs={"pk": document.pk}))
    assert response.status_code == 200
    config = editor_config(response)
    assert config["documentId"] == str(document.pk)
    assert config["title"] == "Plans"
    assert config["role"] == "owner"
    assert config["canEdit"] is True
    assert config["wsPath"] == "/ws/documents"
    assert config["user"]["id"] == owner.pk
    assert config["user"]["name"] == "olivia"
    assert config["user"]["color"].startswith("#")
    assert b"editor/editor.js" in response.content
    assert b"editor/editor.css" in response.content


def test_editor_can_edit(editor_user, document):
    response = client_for(editor_user).get(reverse("document-edit", kwargs={"pk": document.pk}))
    config = editor_config(response)
    assert config["role"] == "editor"
    assert config["canEdit"] is True
    assert (
        b'id="readonly-banner" class="banner banner--readonly" role="note" hidden'
        in response.content
    )


def test_viewer_gets_read_only_page(viewer, document):
    response = client_for(viewer).get(reverse("document-edit", kwargs={"pk": document.pk}))
    config = editor_config(response)
    assert config["role"] == "viewer"
    assert config["canEdit"] is False
    assert b'class="banner banner--readonly" role="note">' in response.content
    assert b'id="doc-title"' in response.content and b"readonly" in response.content


def test_stranger_gets_404_on_editor_page(stranger, document):
    response = client_for(stranger).get(reverse("document-edit", kwargs={"pk": document.pk}))
    assert response.status_code == 404


def test_unknown_document_is_404(owner):
    response = client_for(owner).get(reverse("document-edit", kwargs={"pk": uuid.uuid4()}))
    assert response.status_code == 404


def test_title_is_escaped_in_config(owner):
    doc = services.document_create(owner=owner, title="</script><script>alert(1)</script>")
    response = client_for(owner).get(reverse("document-edit", kwargs={"pk": doc.pk}))
    assert b"</script><script>alert(1)" not in response.content
    assert editor_config(response)["title"] == "</script><script>alert(1)</script>"


# Rename


def test_owner_can_rename(owner, document):
    response = client_for(owner).post(
        reverse("document-rename", kwargs={"pk": document.pk}), {"title": "Better plans"}
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.title == "Better plans"


def test_editor_can_rename(editor_user, document):
    client_for(editor_user).post(
        reverse("document-rename", kwargs={"pk": document.pk}), {"title": "Eddie's plans"}
    )
    document.refresh_from_db()
    assert document.title == "Eddie's plans"


def test_viewer_cannot_rename(viewer, document):
    response = client_for(viewer).post(
        reverse("document-rename", kwargs={"pk": document.pk}), {"title": "Hijacked"}
    )
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.title == "Plans"


def test_stranger_cannot_rename(stranger, document):
    response = client_for(stranger).post(
        reverse("document-rename", kwargs={"pk": document.pk}), {"title": "Hijacked"}
    )
    assert response.status_code == 404
    document.refresh_from_db()
    assert document.title == "Plans"


def test_blank_rename_becomes_untitled(owner, document):
    client_for(owner).post(reverse("document-rename", kwargs={"pk": document.pk}), {"title": "  "})
    document.refresh_from_db()
    assert document.title == "Untitled document"


def test_rename_follows_only_local_next(owner, document):
    url = reverse("document-rename", kwargs={"pk": document.pk})
    evil = client_for(owner).post(url, {"title": "X", "next": "https://evil.example/"})
    assert evil["Location"] == reverse("document-list")
    local = client_for(owner).post(url, {"title": "Y", "next": "/documents/"})
    assert local["Location"] == "/documents/"


# Delete


def test_owner_can_delete(owner, document):
    client = client_for(owner)
    url = reverse("document-delete", kwargs={"pk": document.pk})
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert b"to the trash" in confirm.content
    assert Document.objects.alive().filter(pk=document.pk).exists()
    response = client.post(url)
    assert response.status_code == 302
    assert not Document.objects.alive().filter(pk=document.pk).exists()


def test_editor_cannot_delete(editor_user, document):
    client = client_for(editor_user)
    url = reverse("document-delete", kwargs={"pk": document.pk})
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert Document.objects.filter(pk=document.pk).exists()


def test_stranger_cannot_delete(stranger, document):
    response = client_for(stranger).post(reverse("document-delete", kwargs={"pk": document.pk}))
    assert response.status_code == 404
    assert Document.objects.filter(pk=document.pk).exists()


def test_list_offers_actions_by_role(owner, editor_user, viewer, document):
    delete_url = reverse("document-delete", kwargs={"pk": document.pk}).encode()
    rename_url = reverse("document-rename", kwargs={"pk": document.pk}).encode()
    as_owner = client_for(owner).get(reverse("document-list")).content
    as_editor = client_for(editor_user).get(reverse("document-list")).content
    as_viewer = client_for(viewer).get(reverse("document-list")).content
    assert delete_url in as_owner and rename_url in as_owner
    assert delete_url not in as_editor and rename_url in as_editor
    assert delete_url not in as_viewer and rename_url not in as_viewer


# Services


def test_services_refuse_without_the_role(viewer, editor_user, document):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.document_rename(document=document, title="Nope", user=viewer)
    with pytest.raises(PermissionDenied):
        services.document_delete(document=document, user=editor_user)


def test_titles_are_one_line_and_bounded(owner):
    doc = services.document_create(owner=owner, title="a\nb\t c" + "x" * 500)
    assert doc.title.startswith("a b c")
    assert len(doc.title) == 200


# JSON API


def test_api_requires_login_with_401(client, document):
    for url in (
        reverse("api-document-list"),
        reverse("api-document-detail", kwargs={"pk": document.pk}),
    ):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json() == {"error": "authentication required"}


def test_api_lists_visible_documents_with_role_and_online(monkeypatch, viewer, document):
    from documents.presence import online as presence_registry

    person = {"id": 7, "name": "olivia", "color": "#e6194b"}
    monkeypatch.setattr(presence_registry, "online_users", lambda ids: {document.pk: [person]})
    services.document_create(owner=_user("other"), title="Not shared")
    data = client_for(viewer).get(reverse("api-document-list")).json()
    assert [d["id"] for d in data["documents"]] == [str(document.pk)]
    item = data["documents"][0]
    assert item["title"] == "Plans"
    assert item["role"] == "viewer"
    assert item["can_edit"] is False
    assert item["online"] == [person]
    assert item["owner"]["name"] == "olivia"
    assert item["updated_at"]
    assert item["url"] == reverse("document-edit", kwargs={"pk": document.pk})


def test_api_detail(editor_user, document):
    response = client_for(editor_user).get(
        reverse("api-document-detail", kwargs={"pk": document.pk})
    )
    assert response.status_code == 200
    assert response.json()["role"] == "editor"
    assert response.json()["online"] == []


def test_api_detail_is_404_for_strangers(stranger, document):
    response = client_for(stranger).get(reverse("api-document-detail", kwargs={"pk": document.pk}))
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


def test_api_is_read_only(owner, document):
    response = client_for(owner).post(reverse("api-document-list"))
    assert response.status_code == 405
