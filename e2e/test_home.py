"""The documents home in the browser: search finds what someone else just typed in a
shared document; trash, then restore, brings a document back with its history."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import expect

from e2e.conftest import Peer, off_loop


def test_search_finds_a_word_just_typed_in_a_shared_document(
    alice: Peer, bob: Peer, doc: Any
) -> None:
    bob.open(doc)
    bob.focus_end()
    bob.type("the quokka parade starts at noon")
    bob.wait_saved()

    page = alice.page
    page.goto(f"{alice.base_url}/")
    search = page.get_by_role("searchbox", name="Search documents")
    row = page.locator(f".doc-row[data-document-id='{doc.pk}']")
    # The text reaches the index after the mirror's pause in typing: search
    # again until it is there, up to a deadline.
    deadline = time.monotonic() + 10
    while True:
        search.fill("quokka")
        search.press("Enter")
        page.wait_for_url(re.compile(r"\?q=quokka"))
        if row.count():
            break
        assert time.monotonic() < deadline, "the word Bob typed was never found"
        page.wait_for_timeout(200)
    expect(row.locator(".doc-snippet mark")).to_have_text("quokka")
    expect(row.locator(".doc-snippet")).to_contain_text("parade starts at noon")
    expect(page.locator(".doc-row")).to_have_count(1)
    row.locator(".doc-link").click()
    alice.wait_status("connected")
    alice.wait_text_contains("quokka parade")


def _versions(peer: Peer, doc: Any) -> list[str]:
    response = peer.page.request.get(f"{peer.base_url}/api/documents/{doc.pk}/history/")
    assert response.ok, response.status
    return [v.get("label", "") for v in response.json()["versions"]]


def test_trash_then_restore_brings_the_document_back_with_its_history(
    alice: Peer, bob: Peer, doc: Any
) -> None:
    from documents.history import services as history

    alice.open(doc)
    bob.open(doc)
    alice.focus_end()
    alice.type("words worth keeping")
    alice.wait_saved()
    off_loop(history.snapshot_create, document=doc, user=alice.user, label="Before the trash")
    versions = _versions(alice, doc)
    assert "Before the trash" in versions

    page = alice.page
    page.goto(f"{alice.base_url}/")
    row = page.locator(f".doc-row[data-document-id='{doc.pk}']")
    row.get_by_role("link", name="Delete").click()
    expect(page.locator("h1")).to_contain_text("to the trash?")
    page.get_by_role("button", name="Move to trash").click()
    expect(page.locator(".flash")).to_contain_text("to the trash")
    expect(row).to_have_count(0)
    # Bob's open editor is told, and the document is gone for him.
    expect(bob.page.locator("#editor-notice[data-notice='deleted']")).to_be_visible()
    assert bob.page.request.get(f"{bob.base_url}/documents/{doc.pk}/").status == 404

    page.get_by_role("navigation", name="Views").get_by_role("link", name="Trash").click()
    trashed = page.locator(f".doc-row[data-document-id='{doc.pk}']")
    expect(trashed).to_contain_text("deleted for good on")
    trashed.get_by_role("button", name="Restore").click()
    expect(page.locator(".flash")).to_contain_text("Restored")
    expect(trashed).to_have_count(0)

    page.goto(f"{alice.base_url}/")
    expect(row).to_have_count(1)
    assert _versions(alice, doc) == versions
    bob.open(doc)
    bob.wait_text_contains("words worth keeping")
