"""The trash: delete moves a document there; it is gone from every path for everyone but
its owner's trash and restore, comes back with its history, and is purged after 30 days."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from documents import services
from documents.library import trash
from documents.models import Document, DocumentUpdate, Snapshot
from documents.realtime.close_codes import CloseCode
from documents.sharing import services as sharing
from documents.storage import store
from documents.tests.support.wsclient import PeerClient

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _with_history(document) -> None:
    """Give the document content and a version, so a restore can be seen to keep them."""
    services.document_rename(document=document, title="With history", user=document.owner)
    store.compact(document.pk, label="First draft", user_id=document.owner_id)


def _trash_by_page(document) -> None:
    url = reverse("document-delete", kwargs={"pk": document.pk})
    response = client_for(document.owner).post(url)
    assert response.status_code == 302


def test_delete_asks_then_moves_to_the_trash(personas, document):
    client = client_for(personas["owner"])
    url = reverse("document-delete", kwargs={"pk": document.pk})
    confirm = client.get(url).content.decode()
    assert "Move “Test document” to the trash?" in confirm and "30 days" in confirm
    response = client.post(url, follow=True)
    assert "Moved “Test document” to the trash" in response.content.decode()
    document.refresh_from_db()
    assert document.trashed_at is not None


def test_a_trashed_document_is_404_on_every_path_for_everyone(personas, document):
    link = sharing.link_create(document=document, by=personas["owner"], role="viewer")
    _with_history(document)
    _trash_by_page(document)
    pk = {"pk": document.pk}
    version = Snapshot.objects.filter(document=document).latest("seq")
    gets = [
        reverse("document-edit", kwargs=pk),
        reverse("api-document-detail", kwargs=pk),
        reverse("document-export", kwargs={"pk": document.pk, "fmt": "txt"}),
        reverse("api-document-history", kwargs=pk),
        reverse("api-access", kwargs=pk),
        reverse("document-delete", kwargs=pk),
    ]
    posts = [
        reverse("document-rename", kwargs=pk),
        reverse("api-document-history-restore", kwargs={**pk, "snapshot_id": version.pk}),
    ]
    for name in ("owner", "editor", "viewer", "stranger"):
        client = client_for(personas[name])
        for url in gets:
            assert client.get(url).status_code == 404, (name, url)
        for url in posts:
            assert client.post(url, {"title": "x"}).status_code == 404, (name, url)
        listed = client.get(reverse("api-document-list")).json()["documents"]
        assert str(document.pk) not in [d["id"] for d in listed]
        assert str(document.pk) not in client.get(reverse("document-list")).content.decode()
    # A share link lets nobody in while the document is in the trash.
    joined = client_for(personas["stranger"]).post(
        reverse("share-link", kwargs={"token": link.token})
    )
    assert joined.status_code == 302 and joined["Location"] == reverse("document-list")
    assert not document.memberships.filter(user=personas["stranger"]).exists()


def test_only_the_owner_sees_it_in_the_trash(personas, document):
    _trash_by_page(document)
    assert (
        "Test document"
        in client_for(personas["owner"]).get(reverse("document-trash")).content.decode()
    )
    for name in ("editor", "viewer", "stranger"):
        page = client_for(personas[name]).get(reverse("document-trash")).content.decode()
        assert "Test document" not in page and "The trash is empty" in page


def test_restore_brings_it_back_with_its_history_and_shares(personas, document):
    _with_history(document)
    updates_before = DocumentUpdate.objects.filter(document=document).count()
    versions_before = list(Snapshot.objects.filter(document=document).values_list("label", "seq"))
    _trash_by_page(document)
    restore = reverse("document-restore", kwargs={"pk": document.pk})
    for name in ("editor", "viewer", "stranger"):
        assert client_for(personas[name]).post(restore).status_code == 404
    response = client_for(personas["owner"]).post(restore, follow=True)
    assert "Restored “With history”." in response.content.decode()
    assert DocumentUpdate.objects.filter(document=document).count() == updates_before
    assert (
        list(Snapshot.objects.filter(document=document).values_list("label", "seq"))
        == versions_before
    )
    history = client_for(personas["editor"]).get(
        reverse("api-document-history", kwargs={"pk": document.pk})
    )
    assert history.status_code == 200 and "First draft" in history.content.decode()
    assert (
        client_for(personas["viewer"])
        .get(reverse("document-edit", kwargs={"pk": document.pk}))
        .status_code
        == 200
    )


def test_restore_and_delete_forever_need_a_post_and_a_trashed_document(personas, document):
    owner = client_for(personas["owner"])
    restore = reverse("document-restore", kwargs={"pk": document.pk})
    forever = reverse("document-delete-forever", kwargs={"pk": document.pk})
    assert owner.get(restore).status_code == 405
    # Not in the trash: nothing to restore or delete from there.
    assert owner.post(restore).status_code == 404
    assert owner.post(forever).status_code == 404
    assert Document.objects.filter(pk=document.pk).exists()
    _trash_by_page(document)
    assert client_for(personas["editor"]).post(forever).status_code == 404
    assert owner.post(forever).status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()


def test_only_the_owner_may_trash(personas, document):
    url = reverse("document-delete", kwargs={"pk": document.pk})
    assert client_for(personas["editor"]).post(url).status_code == 403
    assert client_for(personas["stranger"]).post(url).status_code == 404
    document.refresh_from_db()
    assert document.trashed_at is None


def _trashed_days_ago(document, days: float) -> None:
    Document.objects.filter(pk=document.pk).update(trashed_at=timezone.now() - timedelta(days=days))


def test_purge_trash_deletes_only_what_is_past_the_retention(personas, document):
    old = Document.objects.create(title="Old", owner=personas["owner"])
    recent = Document.objects.create(title="Recent", owner=personas["owner"])
    _with_history(old)
    _trashed_days_ago(old, 31)
    _trashed_days_ago(recent, 29)

    out = io.StringIO()
    call_command("purge_trash", "--dry-run", stdout=out)
    assert f"Would delete {old.pk}" in out.getvalue()
    assert str(recent.pk) not in out.getvalue() and str(document.pk) not in out.getvalue()
    assert "Would delete 1 document(s)" in out.getvalue()
    assert Document.objects.filter(pk=old.pk).exists()

    out = io.StringIO()
    call_command("purge_trash", stdout=out)
    assert f"Deleted {old.pk}" in out.getvalue()
    assert not Document.objects.filter(pk=old.pk).exists()
    assert not Snapshot.objects.filter(document_id=old.pk).exists()
    assert Document.objects.filter(pk=recent.pk).exists()
    assert Document.objects.filter(pk=document.pk).exists()


def test_purge_trash_has_help(capsys):
    with pytest.raises(SystemExit):
        call_command("purge_trash", "--help")
    text = capsys.readouterr().out
    assert "--dry-run" in text and "trash" in text


def test_retention_is_a_tunable(settings, personas, document):
    settings.COLLAB = {"TRASH_RETENTION_DAYS": 2}
    _trashed_days_ago(document, 3)
    assert [p.id for p in trash.trash_purge(dry_run=True)] == [document.pk]


@pytest.mark.usefixtures("rooms")
async def test_trashing_closes_open_sockets_and_refuses_new_ones(personas, document):
    editor = await PeerClient(personas["editor"], document.id).connect()
    await editor.sync()
    await database_sync_to_async(trash.document_trash)(document=document, user=personas["owner"])
    assert await editor.wait_closed() == CloseCode.NOT_FOUND
    again = PeerClient(personas["owner"], document.id)
    await again.comm.connect()
    assert await again.wait_closed() == CloseCode.NOT_FOUND
    await database_sync_to_async(trash.document_restore)(
        document_id=document.pk, user=personas["owner"]
    )
    back = await PeerClient(personas["owner"], document.id).connect()
    await back.sync()
    await back.close()
