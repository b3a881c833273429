"""The rich editor between two browsers: links, task lists, tables, find and replace, counts, outline.

Everything here lives in the shared Yjs document, so each feature is used in
one browser and checked in the other.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from e2e.conftest import Peer

PASTE = """([html, text]) => {
  const data = new DataTransfer()
  if (html) data.setData('text/html', html)
  data.setData('text/plain', text)
  const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true })
  window.__editor.view.dom.dispatchEvent(event)
}"""


def paste(peer: Peer, *, html: str | None, text: str) -> None:
    """A paste of this clipboard content at the caret, as a browser delivers it."""
    peer.page.evaluate(PASTE, [html, text])


def doc_json(peer: Peer) -> Any:
    return peer.page.evaluate("window.__editor.getJSON()")


def test_link_added_in_one_editor_is_clickable_in_the_other(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    target = f"{alice.base_url}/healthz"
    alice.focus_end()
    alice.type("Read the status page")
    # Select "status page" and link it with Ctrl+K.
    alice.page.evaluate(
        "() => { const e = window.__editor; const end = e.state.doc.content.size - 1;"
        " e.commands.setTextSelection({ from: end - 11, to: end }) }"
    )
    alice.press("Control+k")
    box = alice.page.locator("#link-bubble .link-bubble-input")
    expect(box).to_be_focused()
    box.fill(target)
    box.press("Enter")

    link = bob.page.locator(".ProseMirror a", has_text="status page")
    expect(link).to_have_attribute("href", target)
    # A click puts the caret in the link; the bubble offers to open it.
    link.click()
    opener = bob.page.locator("#link-bubble .link-bubble-href")
    expect(opener).to_be_visible()
    expect(opener).to_have_attribute("href", target)
    with bob.context.expect_page() as popup:
        opener.click()
    popup.value.wait_for_load_state()
    assert popup.value.url == target

    # Remove from the bubble: the text stays, the link goes, for both.
    bob.page.locator("#link-bubble").get_by_role("button", name="Remove").click()
    expect(alice.page.locator(".ProseMirror a")).to_have_count(0)
    alice.wait_text_contains("Read the status page")


def test_typed_and_pasted_urls_become_links(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    alice.focus_end()
    alice.type("See https://example.com/docs now")
    expect(bob.page.locator(".ProseMirror a[href='https://example.com/docs']")).to_have_count(1)
    alice.press("Enter")
    paste(alice, html=None, text="mailto:team@example.com")
    expect(bob.page.locator(".ProseMirror a[href='mailto:team@example.com']")).to_have_count(1)
    alice.focus_end()
    alice.press("Enter")
    alice.type("Also www.example.org or notes.txt here")
    expect(bob.page.locator(".ProseMirror a[href='https://www.example.org']")).to_have_count(1)
    bob.wait_text_contains("notes.txt here")
    expect(bob.page.locator(".ProseMirror a", has_text="notes.txt")).to_have_count(0)


def test_a_javascript_link_never_becomes_an_href(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    alice.focus_end()
    alice.type("Click me")
    alice.page.evaluate("window.__editor.commands.selectAll()")

    # Typed into the link box: refused with a message.
    alice.page.click("#toolbar [data-action=link]")
    box = alice.page.locator("#link-bubble .link-bubble-input")
    box.fill("java\tscript:alert(1)")
    box.press("Enter")
    expect(alice.page.locator("#link-bubble .link-bubble-error")).to_contain_text("Only web")
    box.press("Escape")

    # Pasted as HTML, in the forms browsers still read as javascript:.
    alice.focus_end()
    paste(
        alice,
        html='<p><a href="javascript:alert(1)">one</a> <a href=" java&#9;script:alert(2)">two</a>'
        ' <a href="https://example.com/ok">ok</a></p>',
        text="one two ok",
    )
    bob.wait_text_contains("one two ok")
    # Written into the shared document by a client that skips every check.
    alice.page.evaluate(
        "() => { const e = window.__editor; const { state } = e; const end = state.doc.content.size;"
        " const tr = state.tr.insertText(' raw', end - 1).addMark(end, end + 3,"
        " state.schema.marks.link.create({ href: 'javascript:alert(3)' })); e.view.dispatch(tr) }"
    )
    bob.wait_text_contains("ok raw")
    for peer in (alice, bob):
        hrefs = peer.page.eval_on_selector_all(
            ".ProseMirror a", "links => links.map(a => a.getAttribute('href'))"
        )
        assert [h for h in hrefs if h is not None] == ["https://example.com/ok"], hrefs
        assert len(hrefs) == 2  # the raw one is drawn, without an href
    assert not any(
        mark.get("attrs", {}).get("href", "").strip().lower().startswith("java")
        for mark in _marks(doc_json(alice))
        if mark["type"] == "link" and "raw" not in mark.get("text", "")
    )


def _marks(node: Any) -> list[dict[str, Any]]:
    found = [{**mark, "text": node.get("text", "")} for mark in node.get("marks", [])]
    for child in node.get("content", []):
        found.extend(_marks(child))
    return found


def test_task_ticked_in_one_editor_shows_ticked_in_the_other(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    alice.focus_end()
    alice.page.click("#toolbar [data-action=taskList]")
    alice.type("Book the venue")
    alice.press("Enter")
    alice.type("Send invitations")
    bob.wait_text_contains("Send invitations")

    bob.page.locator(".ProseMirror ul[data-type=taskList] > li input[type=checkbox]").first.check()
    first = alice.page.locator(".ProseMirror ul[data-type=taskList] > li").first
    expect(first).to_have_attribute("data-checked", "true")
    expect(first.locator("input[type=checkbox]")).to_be_checked()
    expect(
        alice.page.locator(".ProseMirror ul[data-type=taskList] > li").nth(1).locator("input")
    ).not_to_be_checked()


def test_marks_and_rule_from_the_toolbar(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    alice.focus_end()
    for action, tag in (("underline", "u"), ("code", "code"), ("highlight", "mark")):
        alice.page.click(f"#toolbar [data-action={action}]")
        alice.type(f"{action}!")
        alice.page.click(f"#toolbar [data-action={action}]")
        alice.type(" ")
        expect(bob.page.locator(f".ProseMirror {tag}")).to_have_text(f"{action}!")
    alice.page.click("#toolbar [data-action=horizontalRule]")
    expect(bob.page.locator(".ProseMirror hr")).to_have_count(1)
    expect(alice.page.locator("#toolbar [data-action=underline]")).not_to_have_class(
        re.compile("is-active")
    )


def caret_in_cell(peer: Peer, index: int) -> None:
    """The caret into the index-th cell of the document (negative: from the end)."""
    peer.page.evaluate(
        "i => { const e = window.__editor; const at = [];"
        " e.state.doc.descendants((n, pos) => { if (n.type.spec.tableRole?.endsWith('cell')"
        " || n.type.spec.tableRole === 'header_cell') at.push(pos) });"
        " e.chain().focus().setTextSelection(at.at(i) + 2).run() }",
        index,
    )


def test_table_rows_and_columns_added_in_one_editor_appear_in_the_other(
    both: tuple[Peer, Peer],
) -> None:
    alice, bob = both
    alice.focus_end()
    alice.page.click("#toolbar [data-action=table]")
    expect(bob.page.locator(".ProseMirror table th")).to_have_count(3)
    expect(bob.page.locator(".ProseMirror table tr")).to_have_count(3)
    tools = alice.page.locator("#table-tools")
    expect(tools).to_be_visible()
    alice.type("Name")
    bob.wait_text_contains("Name")

    tools.get_by_role("button", name="+ Row below").click()
    expect(bob.page.locator(".ProseMirror table tr")).to_have_count(4)
    tools.get_by_role("button", name="+ Col right").click()
    expect(bob.page.locator(".ProseMirror table tr").first.locator("th")).to_have_count(4)
    caret_in_cell(alice, -1)  # the last cell, in the new column
    tools.get_by_title("Delete the column").click()
    expect(bob.page.locator(".ProseMirror table tr").first.locator("th")).to_have_count(3)

    # The header row off and on again.
    expect(tools.get_by_role("button", name="Header row")).to_have_attribute("aria-pressed", "true")
    caret_in_cell(alice, 0)
    tools.get_by_role("button", name="Header row").click()
    expect(bob.page.locator(".ProseMirror table th")).to_have_count(0)
    tools.get_by_role("button", name="Header row").click()
    expect(bob.page.locator(".ProseMirror table th")).to_have_count(3)
    # (Read from the document: Alice's caret label sits in that cell.)
    assert (
        bob.page.evaluate("window.__editor.state.doc.firstChild.firstChild.firstChild.textContent")
        == "Name"
    )

    tools.get_by_role("button", name="Delete table").click()
    expect(bob.page.locator(".ProseMirror table")).to_have_count(0)
    expect(tools).to_be_hidden()


def test_a_pasted_table_is_kept(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    alice.focus_end()
    # What a spreadsheet puts on the clipboard: HTML with styles and a colgroup.
    paste(
        alice,
        html='<meta charset="utf-8"><google-sheets-html-origin><table style="border:1px">'
        '<colgroup><col width="100"><col width="120"></colgroup><tbody>'
        '<tr><td style="font-weight:bold">Region</td><td>Sales</td></tr>'
        '<tr><td>North</td><td colspan="1">120</td></tr>'
        "<tr><td>South</td><td>95</td></tr></tbody></table>",
        text="Region\tSales\nNorth\t120\nSouth\t95",
    )
    expect(bob.page.locator(".ProseMirror table tr")).to_have_count(3)
    expect(bob.page.locator(".ProseMirror table td")).to_have_count(6)
    expect(bob.page.locator(".ProseMirror table td").nth(4)).to_have_text("South")

    # Tab-separated text alone, as some sheets and terminals copy it.
    alice.focus_end()
    paste(alice, html=None, text="Item\tQty\r\nPens\t3\r\nInk\t2\r\n")
    expect(bob.page.locator(".ProseMirror table")).to_have_count(2)
    expect(bob.page.locator(".ProseMirror table").nth(1).locator("td")).to_have_count(6)
    tree = doc_json(bob)
    assert [node["type"] for node in tree["content"]].count("table") == 2


def test_replace_all_changes_every_match_in_both_editors_and_one_undo_brings_them_back(
    both: tuple[Peer, Peer],
) -> None:
    alice, bob = both
    alice.focus_end()
    alice.type("The cat sat. A Cat ran.")
    alice.press("Enter")
    alice.type("No dog here, one more cat.")
    bob.wait_text_contains("one more cat.")

    alice.press("Control+h")
    panel = alice.page.locator("#find-panel")
    expect(panel.get_by_label("Replace with")).to_be_focused()
    panel.get_by_label("Find", exact=True).fill("cat")
    expect(panel.locator(".find-count")).to_have_text("1 of 3")
    expect(alice.page.locator(".ProseMirror .find-match")).to_have_count(3)
    panel.get_by_label("Match case").check()
    expect(panel.locator(".find-count")).to_have_text("1 of 2")
    panel.get_by_label("Match case").uncheck()
    expect(panel.locator(".find-count")).to_have_text("1 of 3")
    # Matches are drawn, not written: Bob sees none.
    expect(bob.page.locator(".ProseMirror .find-match")).to_have_count(0)

    panel.get_by_label("Replace with").fill("lion")
    panel.get_by_role("button", name="Replace all").click()
    expected = "The lion sat. A lion ran.No dog here, one more lion."
    for peer in (alice, bob):
        peer.page.wait_for_function(
            "t => window.__editor.state.doc.textContent === t", arg=expected
        )
    expect(panel.locator(".find-count")).to_have_text("No results")

    # One undo (Collaboration's UndoManager) takes back every replacement, for both.
    panel.get_by_role("button", name="Close find").click()
    alice.page.wait_for_function("window.__editor.isFocused")
    alice.press("Control+z")
    original = "The cat sat. A Cat ran.No dog here, one more cat."
    for peer in (alice, bob):
        peer.page.wait_for_function(
            "t => window.__editor.state.doc.textContent === t", arg=original
        )


def test_counts_of_the_document_and_of_a_selection(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    alice.focus_end()
    alice.type("Hello brave new world")
    counts = bob.page.locator("#doc-counts")
    expect(counts).to_have_attribute("data-words", "4")
    expect(counts).to_have_attribute("data-characters", "21")
    expect(counts).to_have_text("4 words · 21 characters")
    alice.press("Enter")
    alice.type("Two more")
    expect(counts).to_have_attribute("data-words", "6")
    # A selection: "brave new" (9 characters, 2 words).
    bob.page.evaluate("window.__editor.commands.setTextSelection({ from: 7, to: 16 })")
    expect(counts).to_have_attribute("data-selection-words", "2")
    expect(counts).to_have_attribute("data-selection-characters", "9")
    expect(counts).to_have_text("2 of 6 words · 9 of 29 characters")


def test_outline_lists_the_headings_and_goes_to_them(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    bob.page.click("#toolbar [data-action=outline]")
    outline = bob.page.locator("#outline-panel")
    expect(outline).to_be_visible()
    expect(outline.locator(".outline-empty")).to_be_visible()

    alice.focus_end()
    alice.page.click("#toolbar [data-action=h1]")
    alice.type("Plan")
    alice.press("Enter")
    for index in range(40):
        alice.type(f"Line {index}")
        alice.press("Enter")
    alice.page.click("#toolbar [data-action=h2]")
    alice.type("Budget")
    alice.press("Enter")
    alice.type("Numbers")

    items = outline.locator(".outline-link")
    expect(items).to_have_text(["Plan", "Budget"])
    expect(outline.locator(".outline-level-2")).to_have_text("Budget")
    # Renamed by Alice: the outline follows.
    alice.page.evaluate(
        "() => { const e = window.__editor; let at = null;"
        " e.state.doc.descendants((n, pos) => { if (n.attrs.level === 2) at = pos });"
        " e.chain().setTextSelection(at + 7).insertContent(' 2027').run() }"
    )
    expect(items).to_have_text(["Plan", "Budget 2027"])

    bob.page.evaluate("window.scrollTo(0, 0)")
    items.nth(1).click()
    heading = bob.page.locator(".ProseMirror h2")
    bob.page.wait_for_function(
        "() => { const r = document.querySelector('.ProseMirror h2').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight }"
    )
    expect(heading).to_be_in_viewport()


def test_shortcut_sheet_opens_with_ctrl_slash(both: tuple[Peer, Peer]) -> None:
    alice, _ = both
    alice.focus_end()
    alice.press("Control+/")
    sheet = alice.page.locator("#shortcuts-dialog")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Link")
    expect(sheet).to_contain_text("Ctrl+K")
    alice.press("Escape")
    expect(sheet).to_be_hidden()


def test_a_viewer_gets_the_reading_tools_only(
    both: tuple[Peer, Peer], doc: Any, make_user: Any, make_peer: Any
) -> None:
    from documents.models import Membership, Role

    alice, _ = both
    carol_user = make_user("Carol")
    Membership.objects.create(document=doc, user=carol_user, role=Role.VIEWER)
    carol = make_peer(carol_user).open(doc)
    alice.focus_end()
    alice.type("Visible to viewers")
    carol.wait_text_contains("Visible to viewers")

    for action in ("bold", "link", "table", "taskList", "undo"):
        expect(carol.page.locator(f"#toolbar [data-action={action}]")).to_be_hidden()
    for action in ("find", "outline", "shortcuts"):
        expect(carol.page.locator(f"#toolbar [data-action={action}]")).to_be_enabled()
    carol.page.click("#toolbar [data-action=find]")
    panel = carol.page.locator("#find-panel")
    panel.get_by_label("Find", exact=True).fill("viewers")
    expect(panel.locator(".find-count")).to_have_text("1 of 1")
    expect(panel.get_by_role("button", name="Replace all")).to_be_hidden()
    expect(carol.page.locator("#doc-counts")).to_have_attribute("data-words", "3")


def test_print_shows_the_document_alone(both: tuple[Peer, Peer]) -> None:
    alice, bob = both
    alice.focus_end()
    alice.type("Printed words")
    bob.wait_text_contains("Printed words")
    bob.focus_end()
    expect(alice.page.locator(".collaboration-carets__label")).to_be_visible()
    alice.page.click("#toolbar [data-action=outline]")
    alice.page.emulate_media(media="print")
    for hidden in ("#toolbar", ".editor-header", "#outline-panel", "#doc-counts"):
        expect(alice.page.locator(hidden)).to_be_hidden()
    expect(alice.page.locator(".collaboration-carets__label")).to_be_hidden()
    expect(alice.page.locator(".ProseMirror")).to_contain_text("Printed words")
    assert alice.page.pdf()[:4] == b"%PDF"
