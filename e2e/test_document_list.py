"""The document list keeps up without a reload: new shares, titles, who is online."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from e2e.conftest import Peer, off_loop


def come_back(peer: Peer) -> None:
    """The user returns to the tab (as switching tabs or apps does)."""
    peer.page.evaluate("window.dispatchEvent(new Event('focus'))")


def test_list_follows_shares_titles_and_presence_when_the_user_comes_back(
    alice: Peer, bob: Peer
) -> None:
    from documents import services
    from documents.models import Membership, Role

    page = bob.page
    page.goto(f"{bob.base_url}/")
    expect(page.locator("#documents-empty")).to_be_visible()

    # Shared with Bob while his list is open.
    doc = services.document_create(owner=alice.user, title="<img src=x onerror=alert(1)> plans")
    Membership.objects.create(document=doc, user=bob.user, role=Role.EDITOR)
    come_back(bob)
    row = page.locator(f".doc-row[data-document-id='{doc.pk}']")
    expect(row.locator(".doc-title")).to_have_text("<img src=x onerror=alert(1)> plans")
    expect(row).to_contain_text("Shared by Alice")
    expect(row.locator(".role")).to_have_text("Editor")
    expect(page.locator("#documents-empty")).to_be_hidden()
    assert page.locator(".doc-row img").count() == 0

    # Alice opens it and renames it: Bob's list shows her there, and the new title.
    alice.open(doc)
    off_loop(services.document_rename, document=doc, title="Renamed plans", user=alice.user)
    come_back(bob)
    expect(row.locator(".doc-title")).to_have_text("Renamed plans")
    expect(row.locator(f".online .avatar[data-user-id='{alice.user.pk}']")).to_have_text("AL")

    # The redrawn row's form works like the server's (its CSRF token included).
    # Not checked: the row's title after the reload, which the open editor's
    # title mirror may still overwrite with Alice's rename for a moment.
    row.locator("summary", has_text="Rename").click()
    row.locator("input[name=title]").fill("Bob's title")
    row.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success")).to_contain_text("Renamed to “Bob's title”")


def test_list_is_not_redrawn_while_renaming(alice: Peer, bob: Peer, doc: Any) -> None:
    from documents import services

    page = bob.page
    page.goto(f"{bob.base_url}/")
    # Count the list's requests (refreshing starts with one, synchronously); the
    # header's notification bell fetches on its own schedule.
    page.evaluate(
        "() => { window.__fetches = 0; const fetch = window.fetch;"
        " const api = document.getElementById('documents').dataset.apiUrl.split('?')[0];"
        " window.fetch = (...args) => {"
        " if (String(args[0]).startsWith(api)) window.__fetches += 1; return fetch(...args) } }"
    )
    row = page.locator(f".doc-row[data-document-id='{doc.pk}']")
    row.locator("summary", has_text="Rename").click()
    row.locator("input[name=title]").fill("half typed")

    off_loop(services.document_rename, document=doc, title="Changed meanwhile", user=alice.user)
    come_back(bob)
    assert page.evaluate("window.__fetches") == 0
    expect(row.locator("input[name=title]")).to_have_value("half typed")

    row.locator("summary", has_text="Rename").click()  # closes the form
    page.evaluate("document.activeElement.blur()")
    come_back(bob)
    expect(row.locator(".doc-title")).to_have_text("Changed meanwhile")
    assert page.evaluate("window.__fetches") == 1
