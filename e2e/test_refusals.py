"""What the editor does when the server refuses what it sends: says so, never
loops, and never calls unsaved edits saved.

Each test starts its server with small limits (`server_settings`) so that a
refusal is easy to provoke from a real browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.conftest import Peer, off_loop
from e2e.test_collaboration import stored_text, wait_stored

SHOTS = Path("/tmp")

# Counts the provider's connection attempts and keeps every status label shown,
# from now on (test hooks: window.__provider and window.__status).
WATCH = """
() => {
  window.__attempts = 0
  window.__labels = []
  window.__provider.on('status', ({ status }) => {
    if (status === 'connecting') window.__attempts += 1
  })
  window.__status.subscribe((state) => window.__labels.push(state.label))
}
"""

# Pastes text as a person would: a paste event with the text on the clipboard.
PASTE = """
(text) => {
  const data = new DataTransfer()
  data.setData('text/plain', text)
  const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true })
  window.__editor.view.dom.dispatchEvent(event)
}
"""


def attempts(peer: Peer) -> int:
    return int(peer.page.evaluate("window.__attempts"))


def labels(peer: Peer) -> list[str]:
    return list(peer.page.evaluate("window.__labels"))


def big_text(marker: str, size: int) -> str:
    line = f"{marker} " + "lorem ipsum dolor sit amet " * 3
    return "\n".join([line] * (size // len(line) + 1))


@pytest.mark.parametrize(
    ("server_settings", "paste_bytes", "notice", "says"),
    [
        # Over the frame limit: Daphne would drop the connection without a
        # code (the page would see a network failure), so the page holds it back.
        (
            {"MAX_FRAME_BYTES": 64 * 1024},
            200_000,
            "too-large",
            "That paste is too large to save (limit 64 KB).",
        ),
        # Under the frame limit, over what the document may grow to: TOO_LARGE.
        (
            {"MAX_DOCUMENT_BYTES": 64 * 1024},
            100_000,
            "document-too-large",
            "This document has reached its size limit (64 KB)",
        ),
    ],
    ids=["frame-limit", "document-limit"],
)
def test_a_paste_over_the_limit_is_undone_with_a_message_and_the_editor_carries_on(
    both: tuple[Peer, Peer], doc: Any, paste_bytes: int, notice: str, says: str
):
    alice, bob = both
    alice.focus_end()
    alice.type("Safe text.")
    bob.wait_text_contains("Safe text.")
    alice.wait_saved()
    alice.page.evaluate(WATCH)

    alice.page.evaluate(PASTE, big_text("HUGEPASTE", paste_bytes))
    message = alice.page.locator(f"#editor-notice[data-notice='{notice}']")
    expect(message).to_be_visible()
    expect(message).to_contain_text(says)
    expect(message).to_contain_text("undone; your earlier text is safe")
    alice.wait_text_lacks("HUGEPASTE")
    alice.wait_saved()
    # The paste scrolled the page; the message sits above the document.
    alice.page.evaluate("window.scrollTo(0, 0)")
    alice.page.screenshot(path=str(SHOTS / f"refusal-{notice}.png"))

    # Still an editor that saves: typing reaches Bob and the database.
    alice.focus_end()
    alice.type(" Still editing.")
    bob.wait_text_contains("Still editing.")
    alice.wait_saved()
    stored = wait_stored(doc, alice.text())
    assert "Safe text. Still editing." in stored and "HUGEPASTE" not in stored
    assert "HUGEPASTE" not in bob.text()
    assert alice.page.evaluate("window.__editor.isEditable") is True

    # One reconnect after the refusal, not a loop: a looping page reconnects
    # several times a second, so a short look is enough to tell.
    alice.page.wait_for_timeout(1500)
    assert attempts(alice) == 1, labels(alice)
    expect(alice.page.locator("#connection-status")).to_have_text("Connected")
    message.get_by_role("button", name="Dismiss").click()
    expect(message).to_be_hidden()


# Reports a moment when text typed as "ghost" is on the page while the status
# says Connected with nothing pending: the bug this guards against.
GHOST_WATCH = """
(word) => {
  window.__ghostShownAsSaved = false
  const check = () => {
    const state = window.__status.state
    if (window.__editor.getText().includes(word) && state.status === 'connected' && !state.pending) {
      window.__ghostShownAsSaved = true
    }
  }
  window.__ydoc.on('update', check)
  window.__status.subscribe(check)
  window.__connects = 0
  window.__provider.on('status', ({ status }) => {
    if (status === 'connected') window.__connects += 1
  })
}
"""


def test_typing_while_being_made_a_viewer_is_not_shown_as_saved_and_never_published(
    both: tuple[Peer, Peer], doc: Any
):
    from documents.sharing import services as sharing

    alice, bob = both
    alice.focus_end()
    alice.type("Shared text.")
    bob.wait_text_contains("Shared text.")
    bob.wait_saved()
    bob.page.evaluate(GHOST_WATCH, "ghost")
    # The page learns its new role from the API; while that answer is slow the
    # editor is still editable but the socket is a viewer's: the window in
    # which a person types "while being made a viewer".
    api = f"**/api/documents/{doc.pk}/"
    bob.page.route(api, lambda route: route.abort())

    off_loop(sharing.access_grant, document=doc, by=alice.user, who="bob", role="viewer")
    bob.page.wait_for_function("window.__connects >= 1")  # back, as a viewer
    bob.wait_status("connected")
    assert bob.page.evaluate("window.__editor.isEditable") is True
    bob.focus_end()
    bob.type(" ghost words")

    message = bob.page.locator("#editor-notice[data-notice='read-only']")
    expect(message).to_contain_text("You are now a viewer: your last changes were not saved")
    bob.wait_text_lacks("ghost")
    bob.page.wait_for_function("document.body.dataset.role === 'viewer'")
    assert bob.page.evaluate("window.__editor.isEditable") is False
    expect(bob.page.locator("#role-badge")).to_have_text("Viewer")
    bob.wait_saved()
    bob.screenshot(SHOTS / "refusal-read-only.png")
    assert bob.page.evaluate("window.__ghostShownAsSaved") is False
    assert "ghost" not in off_loop(stored_text, document=doc)

    # Edit access comes back: what was refused does not reappear for anyone.
    bob.page.unroute(api)
    off_loop(sharing.access_grant, document=doc, by=alice.user, who="bob", role="editor")
    bob.page.wait_for_function("document.body.dataset.role === 'editor'")
    bob.wait_status("connected")
    bob.focus_end()
    bob.type(" Back as an editor.")
    alice.wait_text_contains("Back as an editor.")
    bob.wait_saved()
    stored = wait_stored(doc, alice.text())
    assert "ghost" not in stored and "ghost" not in alice.text()
    assert "Shared text. Back as an editor." in stored


@pytest.mark.parametrize("server_settings", [{"MAX_UPDATES_PER_SECOND": 2}], ids=["2-per-s"])
def test_a_rate_limited_editor_says_why_reconnects_by_itself_and_saves_everything(
    alice: Peer, doc: Any
):
    alice.open(doc)
    alice.page.evaluate(WATCH)
    alice.focus_end()
    sentence = "The quick brown fox jumps over the lazy dog."
    alice.type(sentence)
    alice.page.wait_for_function(
        "() => window.__labels.includes('Reconnecting… (too many changes at once)')"
    )
    alice.screenshot(SHOTS / "refusal-rate-limited.png")
    alice.wait_saved(timeout=20_000)
    assert sentence in wait_stored(doc, alice.text())
    # Retried with backoff: a handful of attempts, not one every 200 ms.
    assert 1 <= attempts(alice) <= 4, labels(alice)
    expect(alice.page.locator("#connection-status")).to_have_text("Connected")


def test_a_frame_the_server_cannot_accept_stops_the_editor_with_a_message_and_no_loop(
    both: tuple[Peer, Peer], doc: Any
):
    alice, _ = both
    alice.page.evaluate(WATCH)
    # A sync message of an unknown type: what a bug in this page could send.
    alice.page.evaluate("window.__provider.ws.send(new Uint8Array([0, 9, 9]))")
    alice.wait_status("halted")
    message = alice.page.locator("#editor-notice[data-notice='halted-rejected']")
    expect(message).to_contain_text(
        "This editor sent something the server could not accept; reload the page"
    )
    expect(alice.page.locator("#connection-status")).to_contain_text("reload the page")
    assert alice.page.evaluate("window.__editor.isEditable") is False
    alice.screenshot(SHOTS / "refusal-rejected.png")
    alice.page.wait_for_timeout(1000)  # a looping page would have reconnected by now
    assert attempts(alice) == 0
    assert alice.page.evaluate("window.__provider.shouldConnect") is False

    message.get_by_role("button", name="Reload").click()
    alice.wait_status("connected")
