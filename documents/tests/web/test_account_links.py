"""The account's way around the pages: the top bar's links keep where the visitor
was headed, every page leads to the e-mail address page, and the document list
reminds an account without a confirmed address."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from documents import services
from documents.accounts import services as accounts
from documents.sharing import services as sharing
from documents.tests.web.mailbox import confirm_address

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def owner():
    return User.objects.create_user(username="olivia", first_name="Olivia", password="pw-1!x")


def top_bar(html: str) -> str:
    """The page's header, where the account links are."""
    found = re.search(r"<header class=\"(?:topbar|editor-header)\">.*?</header>", html, re.S)
    assert found, html
    return found.group(0)


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def notice(html: str) -> str:
    found = re.search(r'<p class="account-notice".*?</p>', html, re.S)
    return found.group(0) if found else ""


def test_the_top_bar_links_keep_next(owner):
    document = services.document_create(owner=owner, title="Plans")
    link = sharing.link_create(document=document, by=owner, role="viewer")
    share = reverse("share-link", kwargs={"token": link.token})
    client = Client()
    for page in ("login", "signup"):
        bar = top_bar(client.get(reverse(page), {"next": share}).content.decode())
        assert f"{reverse('login')}?next={share}" in hrefs(bar), page
        assert f"{reverse('signup')}?next={share}" in hrefs(bar), page
    # A `next` with a query of its own stays one parameter.
    target = f"/documents/{document.pk}/?a=1&b=2"
    bar = top_bar(client.get(reverse("login"), {"next": target}).content.decode())
    encoded = f"/documents/{document.pk}/%3Fa%3D1%26b%3D2"
    assert f"{reverse('signup')}?next={encoded}" in hrefs(bar)


@pytest.mark.parametrize("target", ["", "https://evil.example/", "javascript:alert(1)"])
def test_the_top_bar_links_leave_out_a_missing_or_off_site_next(target):
    for page in ("login", "signup"):
        bar = top_bar(Client().get(reverse(page), {"next": target}).content.decode())
        assert reverse("login") in hrefs(bar) and reverse("signup") in hrefs(bar), page
        assert "next=" not in bar, page


def test_every_signed_in_page_leads_to_the_email_page(owner):
    document = services.document_create(owner=owner, title="Plans")
    client = Client()
    client.force_login(owner)
    pages = [
        reverse("document-list"),
        reverse("document-edit", kwargs={"pk": document.pk}),
        reverse("document-history", kwargs={"pk": document.pk}),
        reverse("document-delete", kwargs={"pk": document.pk}),
        reverse("email"),
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert reverse("email") in hrefs(top_bar(response.content.decode())), path


def test_the_list_reminds_until_an_address_is_confirmed(owner):
    client = Client()
    client.force_login(owner)
    shown = notice(client.get(reverse("document-list")).content.decode())
    assert "Add an e-mail address" in shown and reverse("email") in hrefs(shown)

    accounts.email_claim(user=owner, email="o@example.com", absolute=lambda p: p)
    # Every visit, not once like the flash after logging in.
    for _ in range(2):
        shown = notice(client.get(reverse("document-list")).content.decode())
        assert "<strong>o@example.com</strong> is not confirmed yet" in shown
        assert reverse("email") in hrefs(shown)

    confirm_address(owner, "o@example.com")
    assert notice(client.get(reverse("document-list")).content.decode()) == ""


def test_the_reminder_escapes_the_address(owner):
    hostile = '"<img src=x onerror=alert(1)>"@example.com'
    accounts.email_claim(user=owner, email=hostile, absolute=lambda p: p)
    client = Client()
    client.force_login(owner)
    shown = notice(client.get(reverse("document-list")).content.decode())
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert "<img" not in shown
