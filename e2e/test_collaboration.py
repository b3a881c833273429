"""Two people editing one document in two real browsers, through the real server."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from e2e.conftest import Peer, off_loop

# A JavaScript predicate: does the editor's JSON contain a node matching `want`?
HAS_NODE = """
(want) => {
  const matches = (node) =>
    Object.entries(want).every(([key, value]) =>
      key === 'marks'
        ? (node.marks || []).some((m) => m.type === value)
        : key === 'level'
          ? node.attrs && node.attrs.level === value
          : node[key] === value)
  const walk = (node) => matches(node) || (node.content || []).some(walk)
  return walk(window.__editor.getJSON())
}
"""


def wait_converged(a: Peer, b: Peer, timeout: float = 5.0) -> str:
    """Both editors hold the same text; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        text_a, text_b = a.text(), b.text()
        if text_a == text_b:
            return text_a
        if time.monotonic() > deadline:
            raise AssertionError(f"editors did not converge:\n{text_a!r}\n{text_b!r}")
        a.page.wait_for_timeout(50)


def stored_text(document: Any) -> str:
    """The document's body as the server stored it, as plain text."""
    from documents import export
    from documents.storage import store

    return export.to_text(store.load(document.pk).update)


def blocks(text: str) -> list[str]:
    """Paragraph texts, whitespace normalised: the editor's getText() and the plain-text
    export both put a blank line between blocks, but differ at the ends."""
    return [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]


def wait_stored(document: Any, expected: str, timeout: float = 10.0) -> str:
    """The stored body has the same paragraphs as `expected`; returns the stored text."""
    want = blocks(expected)
    deadline = time.monotonic() + timeout
    while True:
        stored = off_loop(stored_text, document=document)
        if blocks(stored) == want:
            return stored
        if time.monotonic() > deadline:
            raise AssertionError(f"the database holds {stored!r}, the editors {expected!r}")
        time.sleep(0.1)


def test_typing_in_one_browser_appears_in_the_other_within_a_second(both: tuple[Peer, Peer]):
    alice, bob = both
    alice.focus_end()
    alice.type("Hello from Alice")
    bob.wait_text_contains("Hello from Alice", timeout=1_000)


def test_formatting_propagates(both: tuple[Peer, Peer]):
    alice, bob = both
    alice.focus_end()
    alice.page.click("#toolbar [data-action=h1]")
    alice.type("Agenda")
    alice.press("Enter")
    alice.page.click("#toolbar [data-action=bulletList]")
    alice.type("first")
    alice.press("Enter")
    alice.type("second")
    alice.press("Enter")
    alice.press("Enter")  # leaves the list
    alice.press("Control+b")
    alice.type("important")
    expect(alice.page.locator("#toolbar [data-action=bold]")).to_have_class(re.compile("is-active"))
    alice.press("Control+b")
    alice.press("Control+i")
    alice.type(" aside")
    expect(alice.page.locator("#toolbar [data-action=italic]")).to_have_class(
        re.compile("is-active")
    )

    bob.page.wait_for_function(HAS_NODE, arg={"type": "heading", "level": 1})
    bob.page.wait_for_function(HAS_NODE, arg={"type": "bulletList"})
    bob.page.wait_for_function(HAS_NODE, arg={"text": "important", "marks": "bold"})
    bob.page.wait_for_function(HAS_NODE, arg={"text": " aside", "marks": "italic"})
    expect(bob.page.locator(".ProseMirror h1")).to_have_text("Agenda")
    expect(bob.page.locator(".ProseMirror ul > li")).to_have_count(2)


def test_remote_caret_is_labelled_and_both_avatars_show(both: tuple[Peer, Peer]):
    alice, bob = both
    alice.focus_end()
    alice.type("Here I am")
    label = bob.page.locator(".collaboration-carets__label")
    expect(label).to_have_count(1)
    expect(label).to_have_text("Alice")
    for peer in (alice, bob):
        expect(peer.page.locator("#avatars .avatar[data-name=Alice]")).to_have_count(1)
        expect(peer.page.locator("#avatars .avatar[data-name=Bob]")).to_have_count(1)


def test_closing_a_page_removes_its_user_within_two_seconds(both: tuple[Peer, Peer]):
    alice, bob = both
    alice.focus_end()
    alice.type("Leaving soon")
    expect(bob.page.locator(".collaboration-carets__label")).to_have_text("Alice")

    alice.page.close()

    bob.page.wait_for_function(
        "() => !document.querySelector('#avatars .avatar[data-name=Alice]')"
        " && !document.querySelector('.collaboration-carets__label')",
        timeout=2_000,
    )


def test_reload_keeps_content(both: tuple[Peer, Peer], make_peer: Callable[[Any], Peer], doc: Any):
    alice, _ = both
    alice.focus_end()
    alice.type("Still here after a reload")
    alice.wait_saved()

    alice.page.reload()
    alice.wait_status("connected")
    alice.wait_text_contains("Still here after a reload")

    # A browser with nothing cached gets it from the server alone.
    fresh = make_peer(alice.user).open(doc)
    fresh.wait_text_contains("Still here after a reload")


def test_offline_edits_merge_when_back_online(both: tuple[Peer, Peer], doc: Any):
    alice, bob = both
    alice.focus_end()
    alice.type("Online. ")
    bob.wait_text_contains("Online.")

    alice.context.set_offline(True)
    alice.wait_status("offline")
    alice.type("Written offline.")
    expect(alice.page.locator("#connection-status")).to_contain_text("unsynced changes")
    bob.focus_end()
    bob.press("Enter")
    bob.type("Bob kept working.")

    alice.context.set_offline(False)
    alice.wait_saved()
    bob.wait_text_contains("Written offline.")
    alice.wait_text_contains("Bob kept working.")
    text = wait_converged(alice, bob)
    assert "Online. Written offline." in text
    expect(alice.page.locator("#connection-status")).to_have_text("Connected")
    wait_stored(doc, text)


def test_typing_at_once_converges(both: tuple[Peer, Peer], doc: Any):
    alice, bob = both
    alice.focus_end()
    bob.focus_end()
    # Interleaved bursts: each side's keystrokes are in flight while the other types.
    for _ in range(15):
        alice.type("aaa")
        bob.type("bbb")
    alice.wait_saved()
    bob.wait_saved()
    text = wait_converged(alice, bob)
    # Carets move under concurrent typing, so count characters, not positions.
    assert text.count("a") == 45
    assert text.count("b") == 45
    wait_stored(doc, text)


def test_undo_removes_only_my_own_changes(both: tuple[Peer, Peer]):
    alice, bob = both
    alice.focus_end()
    alice.type("Alice wrote this.")
    bob.wait_text_contains("Alice wrote this.")
    bob.focus_end()
    bob.press("Enter")
    bob.type("Bob wrote this.")
    alice.wait_text_contains("Bob wrote this.")

    alice.press("Control+z")

    alice.wait_text_lacks("Alice wrote this.")
    bob.wait_text_lacks("Alice wrote this.")
    assert "Bob wrote this." in alice.text()
    assert "Bob wrote this." in bob.text()

    alice.press("Control+Shift+z")
    bob.wait_text_contains("Alice wrote this.")
    wait_converged(alice, bob)


def test_title_edits_are_live(both: tuple[Peer, Peer]):
    alice, bob = both
    alice.page.fill("#doc-title", "Quarterly plan")
    expect(bob.page.locator("#doc-title")).to_have_value("Quarterly plan")
    expect(bob.page).to_have_title("Quarterly plan · Editor")


def test_viewer_sees_changes_but_cannot_edit(
    both: tuple[Peer, Peer],
    doc: Any,
    make_user: Callable[[str], Any],
    make_peer: Callable[[Any], Peer],
):
    from documents.models import Membership, Role

    alice, _ = both
    carol_user = make_user("Carol")
    Membership.objects.create(document=doc, user=carol_user, role=Role.VIEWER)
    carol = make_peer(carol_user).open(doc)
    expect(carol.page.locator(".banner--readonly")).to_be_visible()
    expect(carol.page.locator("#toolbar [data-action=bold]")).to_be_disabled()
    assert carol.page.evaluate("window.__editor.isEditable") is False

    alice.focus_end()
    alice.type("For your eyes")
    carol.wait_text_contains("For your eyes")

    carol.page.click(".ProseMirror")
    carol.type("sneaky")
    carol.page.wait_for_timeout(300)
    assert "sneaky" not in carol.text()
    assert "sneaky" not in alice.text()


def test_role_changes_apply_to_an_open_editor(both: tuple[Peer, Peer], doc: Any):
    from documents.sharing import services as sharing

    alice, bob = both
    off_loop(sharing.access_grant, document=doc, by=alice.user, who="bob", role="viewer")
    bob.page.wait_for_function("document.body.dataset.role === 'viewer'")
    bob.wait_status("connected")
    expect(bob.page.locator("#readonly-banner")).to_be_visible()
    expect(bob.page.locator("#role-badge")).to_have_text("Viewer")
    expect(bob.page.locator("#toolbar [data-action=bold]")).to_be_disabled()
    assert bob.page.evaluate("window.__editor.isEditable") is False

    off_loop(sharing.access_grant, document=doc, by=alice.user, who="bob", role="editor")
    bob.page.wait_for_function("document.body.dataset.role === 'editor'")
    bob.wait_status("connected")
    expect(bob.page.locator("#readonly-banner")).to_be_hidden()
    bob.focus_end()
    bob.type("Back in business")
    alice.wait_text_contains("Back in business")


def test_losing_access_stops_reconnecting_with_a_message(both: tuple[Peer, Peer], doc: Any):
    from documents.sharing import services as sharing

    alice, bob = both
    off_loop(sharing.access_revoke, document=doc, by=alice.user, user_id=bob.user.pk)
    bob.wait_status("denied")
    expect(bob.page.locator("#editor-notice")).to_contain_text("no longer have access")
    assert bob.page.evaluate("window.__provider.shouldConnect") is False
    assert bob.page.evaluate("window.__editor.isEditable") is False


def test_deleting_the_document_tells_open_editors(both: tuple[Peer, Peer], doc: Any):
    from documents import services

    alice, bob = both
    off_loop(services.document_delete, document=doc, user=alice.user)
    for peer in (alice, bob):
        peer.wait_status("denied")
        expect(peer.page.locator("#editor-notice")).to_contain_text("deleted")


def test_document_list_shows_who_is_online(alice: Peer, bob: Peer, doc: Any):
    alice.open(doc)
    bob.page.goto(f"{bob.base_url}/")
    row = bob.page.locator(f".doc-row[data-document-id='{doc.pk}']")
    expect(row.locator(".role")).to_have_text("Editor")
    online = row.locator(".online .avatar[title='Alice is here']")
    deadline = time.monotonic() + 5
    while not online.count() and time.monotonic() < deadline:
        bob.page.wait_for_timeout(250)
        bob.page.reload()
    expect(online).to_have_text("AL")
