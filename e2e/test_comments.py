"""Comments in two real browsers: highlights and threads live, anchors that follow
edits, mentions that notify live and by mail, and what each role may do."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from devtools.paths import ROOT
from e2e.conftest import Peer

# The ProseMirror position of the first occurrence of a string in the editor.
FIND = """
(s) => {
  let found = null
  window.__editor.state.doc.descendants((node, pos) => {
    if (found === null && node.isText) {
      const i = node.text.indexOf(s)
      if (i >= 0) found = pos + i
    }
  })
  return found
}
"""
# The text a thread's highlight covers now ('' when detached), from the page's own store.
COVERED = """
(id) => {
  const c = window.__comments
  const range = c && c.store.rangeOf(id)
  return range ? window.__editor.state.doc.textBetween(range.from, range.to, ' ') : ''
}
"""
# The README's picture is taken again only when asked (UPDATE_SCREENSHOTS=1),
# so a test run leaves the checkout as it found it.
DOCS_SCREENSHOT = ROOT / "docs" / "screenshots" / "comments.png"


def select(peer: Peer, text: str) -> None:
    # Found and selected in one step: a remote edit in between would move the text.
    found = peer.page.evaluate(
        f"""(s) => {{
          const start = ({FIND})(s)
          if (start === null) return false
          window.__editor.chain().focus().setTextSelection({{ from: start, to: start + s.length }}).run()
          return true
        }}""",
        text,
    )
    assert found, f"{text!r} is not in {peer.text()!r}"
    peer.page.wait_for_function(
        "n => { const s = window.__editor.state.selection; return s.to - s.from === n }",
        arg=len(text),
    )
    # A read-only editor does not take the focus; an editable one must, before keys.
    peer.page.wait_for_function("!window.__editor.isEditable || window.__editor.isFocused")


def type_at(peer: Peer, before: str, text: str, offset: int = 0) -> None:
    """Type `text` just before the first `before` (plus `offset` characters)."""
    found = peer.page.evaluate(
        f"""([s, offset]) => {{
          const start = ({FIND})(s)
          if (start === null) return false
          window.__editor.chain().focus().setTextSelection(start + offset).run()
          return true
        }}""",
        [before, offset],
    )
    assert found, f"{before!r} is not in {peer.text()!r}"
    peer.page.wait_for_function("window.__editor.isFocused")
    peer.type(text)


def comment_on_selection(peer: Peer, body: str) -> int:
    """Press Comment, write `body`, post it; the new thread's id."""
    before = peer.page.evaluate("window.__comments.store.threads.size")
    peer.page.click("#comments .comments-add")
    box = peer.page.get_by_label("New comment")
    expect(box).to_be_focused()
    box.fill(body)
    peer.page.click("#comments .comment-submit")
    peer.page.wait_for_function("n => window.__comments.store.threads.size > n", arg=before)
    return int(peer.page.evaluate("Math.max(...window.__comments.store.threads.keys())"))


def covered(peer: Peer, thread_id: int) -> str:
    return str(peer.page.evaluate(COVERED, thread_id))


def wait_covered(peer: Peer, thread_id: int, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while (now := covered(peer, thread_id)) != text:
        if time.monotonic() > deadline:
            raise AssertionError(f"{peer.name}'s highlight covers {now!r}, not {text!r}")
        peer.page.wait_for_timeout(50)


def card(peer: Peer, thread_id: int) -> Any:
    return peer.page.locator(f"#comments .thread[data-thread='{thread_id}']")


def test_a_thread_is_live_in_both_editors_and_its_anchor_follows_edits(
    both: tuple[Peer, Peer], tmp_path: Path
):
    alice, bob = both
    alice.focus_end()
    alice.type("The quick brown fox jumps over the lazy dog.")
    bob.wait_text_contains("lazy dog.")

    select(alice, "brown fox")
    thread_id = comment_on_selection(alice, "Is the fox really brown?")

    # Bob sees the highlight and the thread within a second.
    started = time.monotonic()
    expect(card(bob, thread_id)).to_contain_text("Is the fox really brown?", timeout=1_000)
    wait_covered(bob, thread_id, "brown fox", timeout=1.0)
    assert time.monotonic() - started < 1.5
    expect(bob.page.locator(".ProseMirror .comment-mark").first).to_be_visible()

    # Bob replies; Alice sees the reply live.
    card(bob, thread_id).click()
    reply = card(bob, thread_id).get_by_label("Reply")
    reply.fill("Yes, and quick too.")
    card(bob, thread_id).locator(".comment-reply").click()
    expect(card(alice, thread_id)).to_contain_text("Yes, and quick too.", timeout=2_000)

    # Both type around and inside the commented range.
    type_at(alice, "quick", "very ")  # before the range
    bob.wait_text_contains("The very quick")
    type_at(bob, "fox", "red ")  # inside it
    alice.wait_text_contains("brown red fox")
    type_at(alice, " jumps", ", sly")  # right after its end
    bob.wait_text_contains("fox, sly")
    # (Not a word starting with "b": y-prosemirror turns "b|rown" -> "big brown" into
    # "b" + "ig b" + "rown", and the anchored "b" would then start the inserted word.)
    type_at(bob, "brown", "huge ")  # right before its start
    for peer in (alice, bob):
        peer.wait_text_contains("very quick huge brown red fox, sly jumps")
        wait_covered(peer, thread_id, "brown red fox")

    # Clicking the highlight makes its thread the active one, and the other way round.
    alice.page.locator(".ProseMirror .comment-mark").first.click()
    expect(card(alice, thread_id)).to_contain_class("is-active")

    alice.page.fill("#doc-title", "Field notes")
    alice.page.press("#doc-title", "Enter")
    bob.page.wait_for_function("document.getElementById('doc-title').value === 'Field notes'")
    screenshot = DOCS_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "c.png"
    alice.page.set_viewport_size({"width": 1280, "height": 720})
    alice.page.evaluate("window.scrollTo(0, 0)")
    alice.page.screenshot(path=str(screenshot))

    # Alice resolves: the thread leaves both open lists, and stays behind the toggle.
    card(alice, thread_id).locator(".thread-resolve").click()
    expect(card(bob, thread_id)).to_have_count(0, timeout=2_000)
    expect(bob.page.locator(".ProseMirror .comment-mark")).to_have_count(0)
    toggle = bob.page.locator("#comments .comments-resolved-toggle")
    expect(toggle).to_have_text("Show resolved (1)")
    toggle.click()
    expect(card(bob, thread_id)).to_contain_text("Resolved by Alice")


def test_a_thread_whose_text_is_deleted_stays_readable_as_detached(both: tuple[Peer, Peer]):
    alice, bob = both
    alice.focus_end()
    alice.type("Keep this. Delete me entirely. Keep that.")
    select(alice, "Delete me entirely.")
    thread_id = comment_on_selection(alice, "Cut this?")
    wait_covered(bob, thread_id, "Delete me entirely.")
    select(bob, " Delete me entirely.")
    bob.press("Backspace")
    alice.wait_text_lacks("Delete me")
    expect(card(alice, thread_id)).to_contain_class("is-detached", timeout=2_000)
    expect(card(alice, thread_id)).to_contain_text("The commented text was deleted.")
    expect(card(alice, thread_id)).to_contain_text("Cut this?")


def test_a_mention_notifies_live_and_by_mail(both: tuple[Peer, Peer], doc: Any, daphne_server):
    from django.utils import timezone

    from documents.models import EmailAddress

    alice, bob = both
    EmailAddress.objects.create(user=bob.user, email="bob@example.com", verified_at=timezone.now())
    alice.focus_end()
    alice.type("Budget for next year")
    select(alice, "Budget")
    alice.page.click("#comments .comments-add")
    box = alice.page.get_by_label("New comment")
    box.type("Please check @bo")
    option = alice.page.locator(".mention-option", has_text="@bob")
    expect(option).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value("Please check @bob ")
    alice.page.click("#comments .comment-submit")
    alice.page.wait_for_function("window.__comments.store.threads.size === 1")
    thread_id = int(alice.page.evaluate("[...window.__comments.store.threads.keys()][0]"))
    wait_covered(alice, thread_id, "Budget")
    wait_covered(bob, thread_id, "Budget")

    expect(bob.page.locator("#notifications .bell-count")).to_have_text("1", timeout=2_000)
    bob.page.click("#notifications .bell-button")
    item = bob.page.locator("#notifications .bell-item").first
    expect(item).to_contain_text("Alice mentioned you")
    expect(item).to_contain_text("Please check @bob")

    log = Path(daphne_server.log_path)
    deadline = time.monotonic() + 5
    while "To: bob@example.com" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "no mail to bob@example.com in the server's output"
        time.sleep(0.1)
    assert "mentioned you" in log.read_text(errors="replace")

    # Following the notification opens the thread and marks it read.
    item.locator("a").click()
    bob.page.wait_for_url("**#thread-*")
    bob.wait_status("connected")
    expect(card(bob, thread_id)).to_contain_class("is-active")
    expect(card(bob, thread_id)).to_contain_text("Please check")
    expect(bob.page.locator("#notifications .bell-count")).to_be_hidden()


def test_a_commenter_can_comment_but_not_type_and_a_viewer_can_do_neither(
    both: tuple[Peer, Peer],
    doc: Any,
    make_user: Callable[[str], Any],
    make_peer: Callable[[Any], Peer],
):
    from documents.models import Membership, Role

    alice, _ = both
    alice.focus_end()
    alice.type("Shared paragraph for review.")
    carol_user, dave_user = make_user("Carol"), make_user("Dave")
    Membership.objects.create(document=doc, user=carol_user, role=Role.COMMENTER)
    Membership.objects.create(document=doc, user=dave_user, role=Role.VIEWER)
    carol = make_peer(carol_user).open(doc)
    dave = make_peer(dave_user).open(doc)
    carol.wait_text_contains("for review.")

    expect(carol.page.locator("#readonly-banner")).to_contain_text("You are a commenter")
    assert carol.page.evaluate("window.__editor.isEditable") is False
    carol.page.click(".ProseMirror")
    carol.type("sneaky")
    carol.page.wait_for_timeout(300)
    assert "sneaky" not in carol.text() and "sneaky" not in alice.text()

    select(carol, "for review")
    thread_id = comment_on_selection(carol, "Looks fine to me")
    expect(card(alice, thread_id)).to_contain_text("Looks fine to me", timeout=2_000)
    expect(card(dave, thread_id)).to_contain_text("Looks fine to me", timeout=2_000)

    # The viewer reads the thread but has no way to write one.
    expect(dave.page.locator("#comments .comments-add")).to_be_hidden()
    card(dave, thread_id).click()
    expect(card(dave, thread_id).get_by_label("Reply")).to_have_count(0)
    expect(card(dave, thread_id).locator(".thread-resolve")).to_have_count(0)
    select(dave, "Shared")
    expect(dave.page.locator("#comments .comments-add")).to_be_hidden()
    # Nor does the API let the viewer in behind the page's back.
    refused = dave.page.evaluate(
        """async (url) => {
             const token = document.cookie.match(/csrftoken=([^;]+)/)?.[1]
               || document.querySelector('input[name=csrfmiddlewaretoken]')?.value || ''
             const r = await fetch(url, {method: 'POST', headers: {
               'Content-Type': 'application/json', 'X-CSRFToken': token},
               body: JSON.stringify({anchor_from: 'AQ==', anchor_to: 'AQ==', body: 'x'})})
             return [r.status, (await r.json()).error]
           }""",
        f"/api/documents/{doc.pk}/comments/",
    )
    assert refused == [403, "You can read the comments on this document but not write them."]


def test_the_share_dialog_offers_the_commenter_role_and_the_page_follows_it(
    both: tuple[Peer, Peer], doc: Any
):
    from e2e.test_sharing import member_row, open_share_dialog

    alice, bob = both
    dialog = open_share_dialog(alice)
    link_role = dialog.get_by_label("Role for a new link")
    expect(link_role.locator("option[value=commenter]")).to_have_count(1)
    member_row(dialog, "bob").get_by_label("Role for Bob").select_option("commenter")
    expect(dialog).to_have_attribute("aria-busy", "false")
    expect(member_row(dialog, "bob").get_by_label("Role for Bob")).to_have_value("commenter")

    # Bob's open page becomes a commenter's: no typing, but the Comment button works.
    bob.page.wait_for_function("document.body.dataset.role === 'commenter'")
    expect(bob.page.locator("#role-badge")).to_have_text("Commenter")
    expect(bob.page.locator("#readonly-banner")).to_contain_text("You are a commenter")
    assert bob.page.evaluate("window.__editor.isEditable") is False
    expect(bob.page.locator("#comments .comments-add")).to_be_visible()


@pytest.mark.parametrize(
    "server_settings", [{"MAX_EVENTS_SOCKETS_PER_USER": 1}], ids=["1-events-socket"]
)
def test_a_tab_over_the_events_socket_cap_backs_off_and_gets_in_once_a_tab_closes(
    alice: Peer, doc: Any
):
    alice.open(doc)  # this tab holds Alice's one events socket
    second = alice.context.new_page()
    attempts: list[float] = []
    subscribed: list[str] = []

    def on_socket(ws: Any) -> None:
        if "/ws/events/" not in ws.url:
            return
        attempts.append(time.monotonic())
        ws.on(
            "framereceived",
            lambda frame: subscribed.append(frame) if '"subscribed"' in str(frame) else None,
        )

    second.on("websocket", on_socket)
    second.goto(f"{alice.base_url}/documents/{doc.pk}/")
    second.wait_for_timeout(8_000)
    # Each refusal (4510, after the socket opened) is retried, further apart each
    # time (at most 5 tries in 8 s): a client that started its backoff over on
    # every open comes back about once a second (8 or 9 tries).
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(attempts)]
    assert 3 <= len(attempts) <= 6, gaps
    assert not subscribed
    alice.page.close()  # a place is free: the next retry gets in and subscribes
    deadline = time.monotonic() + 20
    while not subscribed:
        assert time.monotonic() < deadline, f"no subscription after {len(attempts)} attempts"
        second.wait_for_timeout(100)


def test_an_export_with_comments_marks_where_the_browser_s_anchors_end(
    both: tuple[Peer, Peer], doc: Any
):
    """The anchors as y-tiptap encodes them, read back on the server after edits."""
    alice, bob = both
    alice.focus_end()
    alice.type("The quick brown fox jumps. Drop this part. The end.")
    select(alice, "brown fox")
    fox = comment_on_selection(alice, "Which fox?")
    select(alice, "Drop this part.")
    dropped = comment_on_selection(alice, "Cut?")
    wait_covered(bob, fox, "brown fox")
    type_at(bob, "quick", "very ")  # before the range
    type_at(bob, "fox", "red ")  # inside it
    select(bob, " Drop this part.")
    bob.press("Backspace")  # the second thread's whole text
    expect(card(alice, dropped)).to_contain_class("is-detached", timeout=2_000)
    bob.wait_saved()
    url = f"{alice.base_url}/documents/{doc.pk}/export"
    text = alice.page.request.get(f"{url}.md?comments=1").text()
    assert text.startswith("The very quick brown red fox[^1] jumps. The end.\n"), text
    assert "[^1]: “brown fox” — **Alice**: Which fox?" in text
    assert "Cut?" in text.split("**Detached comments**")[1]
    page = alice.page.request.get(f"{url}.html?comments=1").text()
    assert 'red fox<sup><a href="#comment-1" id="comment-ref-1">1</a></sup> jumps.' in page
