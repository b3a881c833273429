"""Shares by e-mail that wait for an address to be confirmed, in the owner's Share
dialog; and the reminder, and the way to the e-mail page, for an account with no
confirmed address."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from e2e.conftest import Peer
from e2e.test_sharing import open_share_dialog, share_with

# Django accepts a quoted local part with markup in it, but no spaces.
HOSTILE = '"<img/src=x/onerror=alert(1)>"@example.com'


def pending_row(dialog: Locator, email: str) -> Locator:
    return dialog.locator(".share-item--pending").filter(
        has=dialog.page.locator(".share-name", has_text=email)
    )


def alerts_of(page: Page) -> list[str]:
    """Every alert() the page tries, from now on (dismissed)."""
    seen: list[str] = []

    def on_dialog(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def pending_emails(document: Any) -> list[str]:
    from documents.models import PendingShare

    return list(PendingShare.objects.filter(document=document).values_list("email", flat=True))


def test_a_share_with_an_unconfirmed_address_waits_in_the_dialog_until_cancelled(
    alice: Peer, doc: Any
) -> None:
    alerts = alerts_of(alice.page)
    alice.open(doc)
    dialog = open_share_dialog(alice)
    share_with(dialog, HOSTILE, "viewer")

    row = pending_row(dialog, HOSTILE)
    expect(row).to_have_count(1)
    # The address is text: the same characters back, and no element made of them.
    expect(row.locator(".share-name")).to_have_text(HOSTILE)
    expect(row.locator(".share-detail")).to_have_text("Waiting for this address to be confirmed")
    expect(row.locator(".role")).to_have_text("Viewer")
    notice = dialog.locator(".share-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"Nobody has confirmed {HOSTILE} yet")
    expect(dialog.locator(".share-error")).to_be_hidden()
    expect(dialog.get_by_label("Username or e-mail")).to_have_value("")
    assert dialog.locator("img").count() == 0
    assert pending_emails(doc) == [HOSTILE]

    # Reopened, the dialog lists it from the server, without the notice.
    dialog.get_by_role("button", name="Close").click()
    dialog = open_share_dialog(alice)
    expect(pending_row(dialog, HOSTILE)).to_have_count(1)
    expect(dialog.locator(".share-notice")).to_be_hidden()

    pending_row(dialog, HOSTILE).get_by_role(
        "button", name=f"Cancel the share with {HOSTILE}"
    ).click()
    expect(dialog.locator(".share-item--pending")).to_have_count(0)
    expect(dialog.locator(".share-error")).to_be_hidden()
    assert pending_emails(doc) == []
    assert alerts == []


def test_a_refused_address_is_told_as_text(alice: Peer, doc: Any) -> None:
    alerts = alerts_of(alice.page)
    alice.open(doc)
    dialog = open_share_dialog(alice)
    refused = '"<img src=x onerror=alert(1)>"@example.com'
    share_with(dialog, refused, "editor")
    expect(dialog.locator(".share-error")).to_contain_text(f"{refused!r} is not an e-mail address")
    expect(dialog.locator(".share-item--pending")).to_have_count(0)
    expect(dialog.locator(".share-notice")).to_be_hidden()
    assert dialog.locator("img").count() == 0
    assert alerts == []


def test_pending_rows_fit_a_phone(alice: Peer, doc: Any) -> None:
    alice.page.set_viewport_size({"width": 360, "height": 740})
    alice.open(doc)
    alice.page.get_by_role("button", name="Menu", exact=True).click()
    alice.page.get_by_role("button", name="Share").click()
    dialog = alice.page.locator("#share-dialog")
    expect(dialog).to_have_attribute("aria-busy", "false")
    long_address = "a-very-long-mailbox-name-for-a-small-screen@departments.example.com"
    share_with(dialog, long_address, "editor")
    row = pending_row(dialog, long_address)
    expect(row).to_have_count(1)
    expect(dialog.locator(".share-notice")).to_be_visible()
    # Nothing in the dialog scrolls sideways, and Cancel stays on the screen.
    assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth")
    cancel = row.get_by_role("button", name=f"Cancel the share with {long_address}")
    box = cancel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    cancel.click()
    expect(row).to_have_count(0)


def test_the_list_reminds_an_account_without_a_confirmed_address(alice: Peer) -> None:
    from documents.accounts import services as accounts
    from documents.tests.web.mailbox import confirm_address

    page = alice.page
    page.goto(f"{alice.base_url}/")
    reminder = page.locator(".account-notice")
    expect(reminder).to_contain_text("No e-mail address yet")
    reminder.get_by_role("link", name="Add an e-mail address").click()
    page.wait_for_url("**/accounts/email/")

    accounts.email_claim(
        user=alice.user, email="alice@example.com", absolute=lambda p: alice.base_url + p
    )
    # The account menu's E-mail link leads to the same page.
    page.goto(f"{alice.base_url}/")
    expect(reminder).to_contain_text("alice@example.com is not confirmed yet")
    page.locator(".topbar").get_by_role("link", name="E-mail").click()
    page.wait_for_url("**/accounts/email/")
    expect(page.locator("main")).to_contain_text("Waiting for confirmation: alice@example.com")

    confirm_address(alice.user, "alice@example.com")
    page.goto(f"{alice.base_url}/")
    expect(page.locator("#documents-empty")).to_be_visible()
    expect(reminder).to_have_count(0)


def test_the_phone_menu_leads_to_the_account_pages(alice: Peer, doc: Any) -> None:
    page = alice.page
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/", f"/documents/{doc.pk}/"):
        for name, url in (
            ("Alice", "**/accounts/profile/"),
            ("E-mail", "**/accounts/email/"),
            ("Password", "**/accounts/password_change/"),
        ):
            page.goto(alice.base_url + path)
            page.get_by_role("button", name="Menu", exact=True).click()
            menu = page.locator(".menu-panel:popover-open")
            link = menu.get_by_role("link", name=name, exact=True)
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert box is not None and box["height"] >= 40 and box["x"] + box["width"] <= 360, box
            link.click()
            page.wait_for_url(url)
