"""A document deleted, or access taken away, while it is open: the editor says
which in place, and a reload is the app's own 404 page with a way home.

Against a server with DEBUG off, where Django answers with the app's templates.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.conftest import Peer, off_loop
from e2e.production import production_server, production_static  # noqa: F401


@pytest.fixture
def daphne_server(production_server: Any) -> Any:  # noqa: F811
    return production_server


def expect_stopped_in_place(peer: Peer, notice: str, text: str, label: str) -> None:
    """The open editor explains itself and stops: read-only, a link back, no reconnecting."""
    page = peer.page
    message = page.locator(f"#editor-notice[data-notice='{notice}']")
    expect(message).to_be_visible()
    expect(message).to_contain_text(text)
    expect(message.get_by_role("link", name="Back to documents")).to_have_attribute("href", "/")
    peer.wait_status("denied")
    expect(page.locator("#connection-status .status-label")).to_have_text(label)
    assert page.evaluate("window.__editor.isEditable") is False


def expect_404_page(peer: Peer, document: Any) -> None:
    """Reloading: the app's 404 in its layout, and its link leads home."""
    page = peer.page
    response = page.reload()
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("This page does not exist")
    expect(page.locator("link[rel=stylesheet][href*='site']")).to_have_count(1)
    # The layout's styles are applied (the static files are served in production mode).
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"
    page.get_by_role("link", name="Back to your documents").click()
    page.wait_for_url(f"{peer.base_url}/")
    expect(page.locator(f".doc-row[data-document-id='{document.pk}']")).to_have_count(0)


def test_a_deleted_document_says_so_in_the_open_editor(both: tuple[Peer, Peer], doc: Any) -> None:
    from documents import services

    alice, bob = both
    bob.focus_end()
    bob.type("last words")
    bob.wait_saved()

    off_loop(services.document_delete, document=doc, user=alice.user)

    for peer in (alice, bob):
        expect_stopped_in_place(
            peer, "deleted", "This document was deleted by its owner.", "Deleted"
        )
    expect_404_page(bob, doc)


def test_removed_access_says_so_in_the_open_editor(both: tuple[Peer, Peer], doc: Any) -> None:
    from documents.sharing import services as sharing

    alice, bob = both
    off_loop(sharing.access_revoke, document=doc, by=alice.user, user_id=bob.user.pk)

    expect_stopped_in_place(
        bob, "forbidden", "You no longer have access to this document.", "No access"
    )
    # The owner carries on.
    alice.focus_end()
    alice.type("still here")
    alice.wait_saved()
    expect_404_page(bob, doc)


def test_removed_while_offline_is_told_without_naming_a_cause(
    both: tuple[Peer, Peer], doc: Any
) -> None:
    """Refused at the handshake, the server does not say deleted or removed
    (it tells strangers nothing either), and the page does not guess."""
    from documents.sharing import services as sharing

    alice, bob = both
    bob.context.set_offline(True)
    bob.page.evaluate("window.__provider.disconnect()")
    off_loop(sharing.access_revoke, document=doc, by=alice.user, user_id=bob.user.pk)
    bob.context.set_offline(False)
    bob.page.evaluate("window.__provider.connect()")

    expect_stopped_in_place(
        bob, "not-found", "deleted, or you no longer have access", "Document not found"
    )
