"""The admin: its pages load for staff, refuse everyone else, and never show content."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from documents.models import Document, DocumentUpdate, Membership, ShareLink, Snapshot
from documents.sharing import services as sharing
from documents.storage import store
from documents.tests.web.test_history import type_words

pytestmark = [pytest.mark.django_db]

MODELS = ["document", "membership", "sharelink", "snapshot", "documentupdate", "emailaddress"]
SECRET_WORDS = "zebra-quartz-secret"


@pytest.fixture
def staff(django_user_model):
    """A staff user allowed to view every model of the app (not a superuser)."""
    user = django_user_model.objects.create_user("operator", password="pw-operator-1")
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="documents", codename__startswith="view_")
    )
    return user


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def busy_document(document, personas):
    """A document with log, a snapshot, members and a share link."""
    type_words(document, SECRET_WORDS, " more")
    store.compact(document.pk, label="v1")
    type_words(document, " after")
    sharing.link_create(document=document, by=personas["owner"], role="editor")
    return document


def urls(document: Document) -> list[str]:
    pages = [reverse(f"admin:documents_{model}_changelist") for model in MODELS]
    pages.append(reverse("admin:documents_document_change", args=[document.pk]))
    pages.append(
        reverse(
            "admin:documents_snapshot_change", args=[Snapshot.objects.get(document=document).pk]
        )
    )
    pages.append(
        reverse(
            "admin:documents_documentupdate_change",
            args=[DocumentUpdate.objects.filter(document=document).earliest("seq").pk],
        )
    )
    pages.append(
        reverse(
            "admin:documents_sharelink_change",
            args=[ShareLink.objects.get(document=document).pk],
        )
    )
    pages.append(
        reverse(
            "admin:documents_membership_change",
            args=[Membership.objects.filter(document=document).earliest("pk").pk],
        )
    )
    return pages


def test_every_page_loads_for_staff_and_shows_no_content(admin_client, busy_document):
    link = ShareLink.objects.get(document=busy_document)
    for url in urls(busy_document):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        # Neither the body, nor update bytes, nor a link's secret.
        assert SECRET_WORDS not in page, url
        assert SECRET_WORDS.encode().hex() not in page.replace(" ", ""), url
        assert link.token not in page, url


def test_the_lists_have_their_columns_filters_and_search(admin_client, busy_document, personas):
    page = admin_client.get(reverse("admin:documents_document_changelist")).content.decode()
    assert "Test document" in page and str(busy_document.pk) in page
    for column in ("members", "last seq", "snapshot seq", "log bytes", "quarantined"):
        assert f">{column.capitalize()}<" in page or column in page.lower(), column

    other = Document.objects.create(title="Quarterly plan", owner=personas["stranger"])
    found = admin_client.get(reverse("admin:documents_document_changelist"), {"q": "stranger"})
    assert "Quarterly plan" in found.content.decode()
    assert "Test document" not in found.content.decode()
    by_id = admin_client.get(reverse("admin:documents_document_changelist"), {"q": str(other.pk)})
    assert "Quarterly plan" in by_id.content.decode()

    viewers = admin_client.get(reverse("admin:documents_membership_changelist"), {"role": "viewer"})
    assert "viewer" in viewers.content.decode() and ">editor<" not in viewers.content.decode()

    labelled = admin_client.get(
        reverse("admin:documents_snapshot_changelist"), {"label__isempty": "0"}
    )
    assert ">v1<" in labelled.content.decode()


def test_pages_refuse_users_who_are_not_staff(personas, busy_document, django_user_model):
    anonymous = Client()
    member = Client()
    member.force_login(personas["owner"])  # owns the document, is not staff
    for url in urls(busy_document):
        for client in (anonymous, member):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url


def test_staff_without_permissions_sees_nothing(busy_document, django_user_model):
    bare = django_user_model.objects.create_user("intern", password="pw-intern-1", is_staff=True)
    client = Client()
    client.force_login(bare)
    for model in MODELS:
        assert client.get(reverse(f"admin:documents_{model}_changelist")).status_code == 403


def test_the_admin_edits_nothing_the_services_keep_in_step(busy_document, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-1")
    client = Client()
    client.force_login(root)
    membership = Membership.objects.filter(document=busy_document).first()
    response = client.post(
        reverse("admin:documents_membership_change", args=[membership.pk]), {"role": "owner"}
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role != "owner"
    assert client.get(reverse("admin:documents_document_add")).status_code == 403


def test_revoking_links_from_the_admin_takes_back_their_grants(
    busy_document, personas, django_user_model
):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-1")
    link = ShareLink.objects.get(document=busy_document)
    assert sharing.link_redeem(token=link.token, user=personas["stranger"]) == busy_document
    client = Client()
    client.force_login(root)

    response = client.post(
        reverse("admin:documents_sharelink_changelist"),
        {"action": "revoke", "_selected_action": [link.pk]},
        follow=True,
    )

    assert "Revoked 1 link(s)." in response.content.decode()
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert not Membership.objects.filter(document=busy_document, user=personas["stranger"]).exists()


def test_deleting_a_document_from_the_admin_deletes_its_history(busy_document, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-1")
    client = Client()
    client.force_login(root)

    response = client.post(
        reverse("admin:documents_document_delete", args=[busy_document.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Document.objects.filter(pk=busy_document.pk).exists()
    assert not Snapshot.objects.filter(document_id=busy_document.pk).exists()
