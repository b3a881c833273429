"""The owner's Share dialog, driven in the browser, and what it does to other people's open pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, expect

from e2e.conftest import Peer


def open_share_dialog(owner: Peer) -> Locator:
    owner.page.click("#share-button")
    dialog = owner.page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-busy", "false")
    return dialog


def share_with(dialog: Locator, who: str, role: str) -> None:
    dialog.get_by_label("Username or e-mail").fill(who)
    dialog.get_by_label("Role for the person you share with").select_option(role)
    dialog.get_by_role("button", name="Share", exact=True).click()


def member_row(dialog: Locator, username: str) -> Locator:
    return dialog.locator(f".share-members [data-username='{username}']")


def test_owner_shares_in_the_ui_and_role_changes_reach_the_open_page(
    alice: Peer,
    bob: Peer,
    doc: Any,
    make_user: Callable[[str], Any],
    make_peer: Callable[[Any], Peer],
):
    alice.open(doc)
    carol = make_peer(make_user("Carol"))
    dialog = open_share_dialog(alice)
    share_with(dialog, "carol", "viewer")
    row = member_row(dialog, "carol")
    expect(row.get_by_label("Role for Carol")).to_have_value("viewer")
    expect(dialog.locator(".share-error")).to_be_hidden()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # Carol opens the document after it was shared with her: a live, read-only view.
    carol.open(doc)
    expect(carol.page.locator("#role-badge")).to_have_text("Viewer")
    expect(carol.page.locator("#readonly-banner")).to_be_visible()
    expect(carol.page.locator("#share-button")).to_have_count(0)
    alice.focus_end()
    alice.type("Live for Carol.")
    carol.wait_text_contains("Live for Carol.")
    carol.page.click(".ProseMirror")
    carol.type("sneaky")
    carol.page.wait_for_timeout(300)
    assert "sneaky" not in carol.text()
    assert "sneaky" not in alice.text()

    # The owner makes her an editor: the same open page becomes editable.
    dialog = open_share_dialog(alice)
    member_row(dialog, "carol").get_by_label("Role for Carol").select_option("editor")
    expect(dialog).to_have_attribute("aria-busy", "false")
    expect(member_row(dialog, "carol").get_by_label("Role for Carol")).to_have_value("editor")
    carol.page.wait_for_function("document.body.dataset.role === 'editor'")
    carol.wait_status("connected")
    expect(carol.page.locator("#readonly-banner")).to_be_hidden()
    expect(carol.page.locator("#role-badge")).to_have_text("Editor")
    assert carol.page.evaluate("window.__editor.isEditable") is True
    carol.focus_end()
    carol.type(" Carol can write now.")
    alice.wait_text_contains("Carol can write now.")
    assert "sneaky" not in alice.text()

    # Removing her in the dialog cuts her off.
    member_row(dialog, "carol").get_by_role("button", name="Remove Carol").click()
    expect(member_row(dialog, "carol")).to_have_count(0)
    carol.wait_status("denied")
    expect(carol.page.locator("#editor-notice")).to_contain_text("no longer have access")
    assert alice.errors == []


def test_share_link_created_and_revoked_in_the_ui(
    alice: Peer,
    doc: Any,
    make_user: Callable[[str], Any],
    make_peer: Callable[[Any], Peer],
):
    alice.open(doc)
    dialog = open_share_dialog(alice)
    expect(dialog.locator(".share-links")).to_contain_text("No active links.")
    dialog.get_by_label("Role for a new link").select_option("editor")
    dialog.get_by_role("button", name="Create link").click()
    link = dialog.locator(".share-links [data-role=editor]")
    expect(link).to_have_count(1)
    url = link.locator(".share-url").input_value()
    assert re.search(r"/share/[^/]+/$", url), url
    link.get_by_role("button", name="Copy").click()
    expect(link.locator(".share-copy")).to_have_text(re.compile("Copied|Press Ctrl\\+C"))

    # A third user opens the link and lands in the editor with the link's role.
    dave = make_peer(make_user("Dave"))
    # Opening the link asks first; joining is a button (a POST).
    dave.page.goto(url)
    expect(dave.page.get_by_role("heading")).to_contain_text("as editor?")
    dave.page.get_by_role("button", name="Join as editor").click()
    expect(dave.page).to_have_url(f"{dave.base_url}/documents/{doc.pk}/")
    dave.wait_status("connected")
    expect(dave.page.locator("#role-badge")).to_have_text("Editor")
    dave.focus_end()
    dave.type("Dave came in by link.")
    alice.wait_text_contains("Dave came in by link.")

    # The owner sees him (via a link) once the dialog reloads, and revokes the link.
    dialog.get_by_role("button", name="Close").click()
    dialog = open_share_dialog(alice)
    expect(member_row(dialog, "dave")).to_contain_text("via a link")
    dialog.locator(".share-links [data-role=editor]").get_by_role(
        "button", name="Revoke editor link"
    ).click()
    expect(dialog.locator(".share-links")).to_contain_text("No active links.")
    expect(member_row(dialog, "dave")).to_have_count(0)
    dave.wait_status("denied")
    expect(dave.page.locator("#editor-notice")).to_contain_text("no longer have access")

    # The link is dead for anyone else too.
    erin = make_peer(make_user("Erin"))
    erin.page.goto(url)
    expect(erin.page).to_have_url(f"{erin.base_url}/")
    expect(erin.page.locator(".flash-error")).to_contain_text("not valid")
    assert alice.errors == []


def test_share_errors_show_in_the_dialog_and_only_the_owner_has_the_button(
    alice: Peer, bob: Peer, doc: Any
):
    alice.open(doc)
    bob.open(doc)
    expect(bob.page.locator("#share-button")).to_have_count(0)

    dialog = open_share_dialog(alice)
    expect(member_row(dialog, "bob").get_by_label("Role for Bob")).to_have_value("editor")
    share_with(dialog, "nobody-by-that-name", "viewer")
    error = dialog.locator(".share-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("No single user")
    expect(dialog.get_by_label("Username or e-mail")).to_have_value("nobody-by-that-name")

    share_with(dialog, "alice", "editor")
    expect(error).to_contain_text("owner already has full access")

    # Escape closes the dialog; opening it again starts without the old error.
    alice.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    dialog = open_share_dialog(alice)
    expect(error).to_be_hidden()
    # Chromium logs every 4xx response itself ("Failed to load resource"); the page logs nothing.
    assert [e for e in alice.errors if "Failed to load resource" not in e] == []
