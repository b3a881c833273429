"""Sharing rules that must hold against a curious or removed user: removals stick,
grants by name and by link are kept apart, e-mails stay private, links join only
on confirmation, and shares by e-mail reach confirmed addresses only."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from documents.accounts import services as accounts
from documents.models import Membership, Role
from documents.permissions import role_for
from documents.sharing import services as sharing
from documents.tests.web.mailbox import confirm_address

pytestmark = pytest.mark.django_db

User = get_user_model()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _link_url(link) -> str:
    return reverse("share-link", kwargs={"token": link.token})


# Item 3: a removal is a removal; grants by name and by link are tracked apart.


def test_removed_link_member_cannot_rejoin_through_the_active_link(personas, document):
    owner, stranger = personas["owner"], personas["stranger"]
    link = sharing.link_create(document=document, by=owner, role="editor")
    sharing.link_redeem(token=link.token, user=stranger)
    assert role_for(stranger, document) == Role.EDITOR
    sharing.access_revoke(document=document, by=owner, user_id=stranger.pk)
    assert role_for(stranger, document) is None

    with pytest.raises(PermissionDenied, match="You were removed from this document"):
        sharing.link_redeem(token=link.token, user=stranger)
    assert role_for(stranger, document) is None

    client = _client(stranger)
    for response in (client.get(_link_url(link)), client.post(_link_url(link))):
        assert response.status_code == 302
        assert response["Location"] == reverse("document-list")
    page = client.get(reverse("document-list")).content.decode()
    assert "You were removed from this document; ask the owner" in page
    assert role_for(stranger, document) is None

    # Sharing by name again is how the owner lets them back; links work again too.
    sharing.access_grant(document=document, by=owner, who="stranger", role="viewer")
    assert role_for(stranger, document) == Role.VIEWER
    sharing.link_redeem(token=link.token, user=stranger)
    assert role_for(stranger, document) == Role.EDITOR


def test_revoking_a_link_keeps_the_role_granted_by_name(personas, document):
    owner, viewer = personas["owner"], personas["viewer"]
    link = sharing.link_create(document=document, by=owner, role="editor")
    # The link upgrades the viewer (granted by name) to editor...
    sharing.link_redeem(token=link.token, user=viewer)
    assert role_for(viewer, document) == Role.EDITOR
    # ...and revoking it takes back only the upgrade.
    sharing.link_revoke(document=document, by=owner, token=link.token)
    assert role_for(viewer, document) == Role.VIEWER
    membership = Membership.objects.get(document=document, user=viewer)
    assert membership.via_link_id is None


def test_grant_by_name_after_a_link_survives_the_link(personas, document):
    owner, stranger = personas["owner"], personas["stranger"]
    link = sharing.link_create(document=document, by=owner, role="viewer")
    sharing.link_redeem(token=link.token, user=stranger)
    sharing.access_grant(document=document, by=owner, who="stranger", role="viewer")
    sharing.link_revoke(document=document, by=owner, token=link.token)
    assert role_for(stranger, document) == Role.VIEWER


def test_role_change_in_the_dialog_keeps_how_the_member_was_addressed(personas, document):
    owner, stranger = personas["owner"], personas["stranger"]
    confirm_address(stranger, "Sam@Example.org")
    sharing.access_grant(document=document, by=owner, who="sam@example.org", role="viewer")
    client = _client(owner)
    url = reverse("api-access-member", kwargs={"pk": document.pk, "user_id": stranger.pk})
    body = client.post(url, json.dumps({"role": "editor"}), content_type="application/json")
    members = {m["user_id"]: m for m in body.json()["members"]}
    assert members[stranger.pk]["role"] == "editor"
    assert members[stranger.pk]["email"] == "Sam@Example.org"
    assert members[stranger.pk]["username"] == ""


# Item 5: e-mails only for owners who already know them; errors tell nothing.


def test_access_list_hides_emails_the_owner_did_not_share_by(personas, document):
    owner = personas["owner"]
    confirm_address(personas["stranger"], "secret@example.org")
    confirm_address(personas["editor"], "editor@example.org")
    known = User.objects.create(username="kim", first_name="Kim")
    confirm_address(known, "Kim@Example.org")
    sharing.access_grant(document=document, by=owner, who="stranger", role="viewer")
    sharing.access_grant(document=document, by=owner, who="KIM@example.org", role="editor")
    listing = sharing.access_list(document=document, by=owner)
    members = {m["user_id"]: m for m in listing["members"]}
    # Shared by username (or added by name before): the owner learns no e-mail.
    assert members[personas["stranger"].pk]["email"] == ""
    assert members[personas["editor"].pk]["email"] == ""
    assert "secret@example.org" not in json.dumps(listing)
    assert "editor@example.org" not in json.dumps(listing)
    # Shared by e-mail: the owner sees the address they typed, and not whose
    # account it is (no username, no name).
    by_email = members[known.pk]
    assert by_email["email"] == "Kim@Example.org"
    assert by_email["username"] == "" and by_email["name"] == "Kim@Example.org"
    assert "kim" not in json.dumps(by_email).replace("Kim@Example.org", "")


def test_email_member_named_by_username_later_is_shown_in_full(personas, document):
    owner, stranger = personas["owner"], personas["stranger"]
    confirm_address(stranger, "sam@example.org")
    sharing.access_grant(document=document, by=owner, who="sam@example.org", role="viewer")
    sharing.access_grant(document=document, by=owner, who="stranger", role="viewer")
    (member,) = [
        m
        for m in sharing.access_list(document=document, by=owner)["members"]
        if m["user_id"] == stranger.pk
    ]
    assert (member["username"], member["email"]) == ("stranger", "sam@example.org")


def test_link_members_e_mail_is_not_shown(personas, document):
    owner, stranger = personas["owner"], personas["stranger"]
    confirm_address(stranger, "linked@example.org")
    link = sharing.link_create(document=document, by=owner, role="viewer")
    sharing.link_redeem(token=link.token, user=stranger)
    listing = sharing.access_list(document=document, by=owner)
    assert "linked@example.org" not in json.dumps(listing)


def test_sharing_with_an_unknown_or_merely_claimed_address_waits_alike(personas, document):
    # Nobody has confirmed either address: both shares wait, with the same
    # answer, so sharing does not tell which addresses someone typed.
    owner, stranger = personas["owner"], personas["stranger"]
    accounts.email_claim(user=stranger, email="claimed@example.org", absolute=str)
    for who in ("claimed@example.org", "nobody@example.org"):
        assert sharing.access_grant(document=document, by=owner, who=who, role="viewer") is None
    listing = sharing.access_list(document=document, by=owner)
    assert [p["email"] for p in listing["pending"]] == ["claimed@example.org", "nobody@example.org"]
    assert role_for(stranger, document) is None


# Item 15: a share link joins only on a confirmed POST.


def test_share_link_get_asks_to_confirm_and_post_joins(personas, document):
    stranger = personas["stranger"]
    link = sharing.link_create(document=document, by=personas["owner"], role="editor")
    client = Client(enforce_csrf_checks=True)
    client.force_login(stranger)
    page = client.get(_link_url(link))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Join “{document.title}” as editor?" in html
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert "<script>" not in html
    assert role_for(stranger, document) is None

    # Without the CSRF token (a cross-site form) the POST is refused.
    assert client.post(_link_url(link)).status_code == 403
    assert role_for(stranger, document) is None

    token = page.context["csrf_token"]
    joined = client.post(_link_url(link), {"csrfmiddlewaretoken": str(token)})
    assert joined.status_code == 302
    assert joined["Location"] == reverse("document-edit", kwargs={"pk": document.pk})
    assert role_for(stranger, document) == Role.EDITOR


def test_share_link_get_for_a_member_goes_straight_to_the_editor(personas, document):
    link = sharing.link_create(document=document, by=personas["owner"], role="viewer")
    response = _client(personas["editor"]).get(_link_url(link))
    assert response.status_code == 302
    assert response["Location"] == reverse("document-edit", kwargs={"pk": document.pk})
