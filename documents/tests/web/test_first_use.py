"""First use: the app's own error pages, the favicon, the header menu and the list's live data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.test import Client, override_settings
from django.urls import include, path, reverse

from documents import services
from documents.models import Membership, Role
from documents.sharing import services as sharing

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def in_layout(html: str) -> bool:
    """The page is the app's: its stylesheet, its header and a way back to the documents."""
    return (
        "/static/documents/site.css" in html
        and 'class="topbar"' in html
        and 'class="brand" href="/"' in html
        and 'href="/">Back to your documents</a>' in html
    )


# Error pages (DEBUG is off in tests, as in production) -----------------------


def test_a_deleted_document_is_the_apps_404_page(personas, document):
    url = reverse("document-edit", kwargs={"pk": document.pk})
    services.document_delete(document=document, user=personas["owner"])
    response = client_for(personas["editor"]).get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert in_layout(html)
    assert "This page does not exist" in html
    assert "deleted" in html
    # Signed in: the header still offers the menu with Log out.
    assert 'popovertarget="site-menu"' in html and "Log out" in html


def test_a_removed_member_gets_the_same_404_page(personas, document):
    sharing.access_revoke(document=document, by=personas["owner"], user_id=personas["viewer"].pk)
    response = client_for(personas["viewer"]).get(
        reverse("document-edit", kwargs={"pk": document.pk})
    )
    assert response.status_code == 404
    assert in_layout(response.content.decode())


def test_an_unknown_address_is_the_404_page_for_anonymous_visitors_too():
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert in_layout(html)
    assert "Log in" in html


def test_a_refused_action_is_the_apps_403_page_with_the_reason(personas, document):
    response = client_for(personas["editor"]).get(
        reverse("document-delete", kwargs={"pk": document.pk})
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert in_layout(html)
    assert "Only the owner may delete a document." in html


def test_the_403_page_escapes_the_reason(rf, personas):
    html = loader.render_to_string(
        "403.html", {"exception": "<script>alert(1)</script>"}, request=rf.get("/")
    )
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_the_500_page_renders_without_a_request_or_a_user():
    # Django's server_error renders it with an empty Context: no request,
    # no context processors, maybe no database.
    html = loader.get_template("500.html").render()
    assert in_layout(html)
    assert "Something went wrong" in html
    assert "Log out" not in html


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom), path("", include("editor_project.urls"))]


@override_settings(ROOT_URLCONF=__name__)
def test_an_error_in_a_view_is_the_500_page():
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert in_layout(response.content.decode())


# The favicon and the header menu ----------------------------------------------


def test_every_page_links_the_favicon_which_is_a_static_file(personas):
    html = Client().get(reverse("login")).content.decode()
    assert '<link rel="icon" href="/static/documents/favicon.svg" type="image/svg+xml">' in html
    found = finders.find("documents/favicon.svg")
    assert found is not None
    with open(found, encoding="utf-8") as svg:
        assert svg.read().startswith("<svg xmlns=")


def test_the_editor_header_keeps_history_share_and_log_out_in_its_menu(personas, document):
    html = (
        client_for(personas["owner"])
        .get(reverse("document-edit", kwargs={"pk": document.pk}))
        .content.decode()
    )
    menu = html.split('id="editor-menu"')[1].split("</header>")[0]
    assert 'popovertarget="editor-menu"' in html
    assert menu.startswith(' class="menu-panel" popover>')
    for item in ('class="btn btn-sm history-link"', 'id="share-button"', "Log out"):
        assert item in menu


# The list's data, for redrawing it live ----------------------------------------


def test_the_list_api_has_what_a_row_shows(personas, document):
    shared = services.document_create(owner=personas["editor"], title="<b>Notes</b>")
    Membership.objects.create(document=shared, user=personas["owner"], role=Role.VIEWER)
    data = client_for(personas["owner"]).get(reverse("api-document-list")).json()
    rows = {row["id"]: row for row in data["documents"]}

    mine = rows[str(document.pk)]
    assert mine["role_label"] == "Owner"
    assert mine["edited"] == "just now"
    assert mine["rename_url"] == reverse("document-rename", kwargs={"pk": document.pk})
    assert mine["delete_url"] == reverse("document-delete", kwargs={"pk": document.pk})

    theirs = rows[str(shared.pk)]
    assert theirs["title"] == "<b>Notes</b>"  # JSON, drawn as text by list.js
    assert theirs["role_label"] == "Viewer"
    assert theirs["owner"]["name"] == "Editor"
    assert theirs["rename_url"] is None
    assert theirs["delete_url"] is None


def test_an_editor_may_rename_but_not_delete_from_the_list(personas, document):
    data = client_for(personas["editor"]).get(reverse("api-document-list")).json()
    (row,) = data["documents"]
    assert row["rename_url"] == reverse("document-rename", kwargs={"pk": document.pk})
    assert row["delete_url"] is None


def test_the_list_page_loads_its_live_updates(personas, document):
    html = client_for(personas["owner"]).get(reverse("document-list")).content.decode()
    assert '<script type="module" src="/static/editor/list.js"></script>' in html
    assert f'data-api-url="{reverse("api-document-list")}"' in html
    assert '<div id="documents-empty" class="card empty" hidden>' in html
    # The rows as drawn, in the API's words: list.js redraws only what changed since.
    data = html.split('<script id="documents-data" type="application/json">')[1].split("</script>")
    assert json.loads(data[0])[0]["id"] == str(document.pk)
