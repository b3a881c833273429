"""Sharing: roles by name or e-mail, share links, and open connections that follow
a role change at once."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from documents.models import Membership, Role
from documents.permissions import role_for
from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.sharing import services as sharing
from documents.tests.support.wsclient import PeerClient
from documents.tests.web.mailbox import confirm_address

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_shares_by_username_or_email(personas, document):
    confirm_address(personas["stranger"], "Stranger@Example.com")
    sharing.access_grant(
        document=document, by=personas["owner"], who="stranger@example.com", role="viewer"
    )
    assert role_for(personas["stranger"], document) == Role.VIEWER
    sharing.access_grant(document=document, by=personas["owner"], who="STRANGER", role="editor")
    assert role_for(personas["stranger"], document) == Role.EDITOR


@pytest.mark.parametrize(
    ("who", "role", "error"),
    [
        ("nobody", "viewer", ValidationError),
        ("stranger", "owner", ValidationError),
        ("owner", "viewer", ValidationError),
    ],
)
def test_bad_share_requests_are_refused(personas, document, who, role, error):
    with pytest.raises(error):
        sharing.access_grant(document=document, by=personas["owner"], who=who, role=role)


@pytest.mark.parametrize("persona", ["editor", "viewer"])
def test_only_the_owner_manages_access(personas, document, persona):
    with pytest.raises(PermissionDenied):
        sharing.access_grant(document=document, by=personas[persona], who="stranger", role="viewer")
    with pytest.raises(PermissionDenied):
        sharing.link_create(document=document, by=personas[persona], role="viewer")


def test_link_grants_its_role_and_revoking_takes_it_back(personas, document):
    link = sharing.link_create(document=document, by=personas["owner"], role="viewer")
    client = Client()
    client.force_login(personas["stranger"])
    # Opening the link asks first (item 15); confirming with a POST joins.
    response = client.get(reverse("share-link", kwargs={"token": link.token}))
    assert response.status_code == 200
    assert role_for(personas["stranger"], document) is None
    response = client.post(reverse("share-link", kwargs={"token": link.token}))
    assert response.status_code == 302
    assert response["Location"] == reverse("document-edit", kwargs={"pk": document.pk})
    assert role_for(personas["stranger"], document) == Role.VIEWER
    # A link never lowers a role someone already has.
    sharing.link_redeem(token=link.token, user=personas["editor"])
    assert role_for(personas["editor"], document) == Role.EDITOR
    sharing.link_revoke(document=document, by=personas["owner"], token=link.token)
    assert role_for(personas["stranger"], document) is None
    assert role_for(personas["editor"], document) == Role.EDITOR
    response = client.get(reverse("share-link", kwargs={"token": link.token}))
    assert response["Location"] == reverse("document-list")
    assert role_for(personas["stranger"], document) is None


def test_access_api_round_trip(personas, document):
    client = Client()
    client.force_login(personas["owner"])
    url = reverse("api-access", kwargs={"pk": document.pk})
    body = client.post(
        url, json.dumps({"user": "stranger", "role": "viewer"}), content_type="application/json"
    ).json()
    assert {m["username"]: m["role"] for m in body["members"]} == {
        "editor": "editor",
        "viewer": "viewer",
        "stranger": "viewer",
    }
    body = client.post(
        reverse("api-links", kwargs={"pk": document.pk}),
        json.dumps({"role": "editor"}),
        content_type="application/json",
    ).json()
    assert body["links"][0]["role"] == "editor" and "/share/" in body["links"][0]["url"]
    member_url = reverse(
        "api-access-member", kwargs={"pk": document.pk, "user_id": personas["stranger"].pk}
    )
    body = client.post(
        member_url, json.dumps({"role": "editor"}), content_type="application/json"
    ).json()
    assert {m["username"]: m["role"] for m in body["members"]}["stranger"] == "editor"
    body = client.delete(member_url).json()
    assert "stranger" not in {m["username"] for m in body["members"]}
    bad = client.post(
        url, json.dumps({"user": "ghost", "role": "viewer"}), content_type="application/json"
    )
    assert bad.status_code == 400 and "ghost" in bad.json()["error"]


@pytest.mark.usefixtures("rooms")
async def test_demoted_editor_is_reconnected_as_viewer_and_cannot_write(personas, document):
    owner = await PeerClient(personas["owner"], document.id).connect()
    await owner.sync()
    editor = await PeerClient(personas["editor"], document.id).connect()
    await editor.sync()
    await editor.edit("before ")
    await owner.wait_text("before ")
    await database_sync_to_async(sharing.access_grant)(
        document=document, by=personas["owner"], who="editor", role="viewer"
    )
    assert await editor.wait_closed() == CloseCode.ACCESS_CHANGED
    assert editor.denied == ["your role is now viewer"]
    again = await PeerClient(personas["editor"], document.id).connect()
    await again.sync()
    await again.edit("after")
    await again.receive_until(lambda m: isinstance(m, protocol.AuthMessage))
    assert await owner.nothing_more(0.3)
    await owner.close()
    await again.close()


@pytest.mark.usefixtures("rooms")
async def test_removed_user_is_disconnected(personas, document):
    viewer = await PeerClient(personas["viewer"], document.id).connect()
    await viewer.sync()
    await database_sync_to_async(sharing.access_revoke)(
        document=document, by=personas["owner"], user_id=personas["viewer"].pk
    )
    assert await viewer.wait_closed() == CloseCode.FORBIDDEN
    assert not await database_sync_to_async(
        Membership.objects.filter(user=personas["viewer"]).exists
    )()


@pytest.mark.usefixtures("rooms")
async def test_deleting_a_document_disconnects_its_editors(personas, document):
    from documents.services import document_delete

    editor = await PeerClient(personas["editor"], document.id).connect()
    await editor.sync()
    await database_sync_to_async(document_delete)(document=document, user=personas["owner"])
    assert await editor.wait_closed() == CloseCode.NOT_FOUND
