"""Images in the editor: picked, pasted or dropped in one browser, shown in the other at their size.

The client is built against the images API's contract (POST
/api/documents/<id>/images/ -> 201 {"src", "width", "height"}, refusals as
{"error"}; GET src for the document's readers only, 404 for anyone else), so
these tests need the server side of that API to pass.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, expect

from documents.tests.support.sessions import session_cookie
from e2e.conftest import Peer


def png(width: int, height: int) -> bytes:
    """A real PNG of one colour, written by hand so the test needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x2f\x6f\xeb" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PASTE_FILE = """async ([bytes, type, name, html]) => {
  const data = new DataTransfer()
  if (bytes) data.items.add(new File([new Uint8Array(bytes)], name, { type }))
  if (html) data.setData('text/html', html)
  const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true })
  window.__editor.view.dom.dispatchEvent(event)
}"""


def own_images(peer: Peer, document: Any) -> Any:
    return peer.page.locator(f".ProseMirror img[src^='/documents/{document.pk}/images/']")


def wait_loaded(peer: Peer, document: Any, count: int) -> None:
    """count images of this document, each fetched and decoded by the browser."""
    peer.page.wait_for_function(
        "([prefix, n]) => { const imgs = [...document.querySelectorAll('.ProseMirror img')];"
        " return imgs.length === n && imgs.every(i => i.getAttribute('src')?.startsWith(prefix)"
        " && i.complete && i.naturalWidth > 0) }",
        arg=[f"/documents/{document.pk}/images/", count],
    )


def test_picked_image_shows_in_the_other_editor_with_its_size_and_strangers_get_404(
    both: tuple[Peer, Peer],
    doc: Any,
    make_user: Callable[[str], Any],
    new_context: Callable[..., BrowserContext],
) -> None:
    alice, bob = both
    alice.focus_end()
    alice.type("Chart below")
    with alice.page.expect_file_chooser() as chooser:
        alice.page.click("#toolbar [data-action=image]")
    chooser.value.set_files(
        files=[{"name": "chart.png", "mimeType": "image/png", "buffer": png(64, 48)}]
    )

    image = own_images(bob, doc)
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("width", "64")
    expect(image).to_have_attribute("height", "48")
    wait_loaded(bob, doc, 1)
    assert bob.page.evaluate("document.querySelector('.ProseMirror img').naturalWidth") == 64
    expect(alice.page.locator(".image-upload-placeholder")).to_have_count(0)

    src = image.get_attribute("src")
    assert src is not None and re.fullmatch(rf"/documents/{doc.pk}/images/[0-9a-f-]+/", src)
    assert bob.context.request.get(alice.base_url + src).status == 200
    stranger = new_context()
    name, _, value = session_cookie(make_user("Mallory")).partition("=")
    stranger.add_cookies([{"name": name, "value": value, "url": alice.base_url}])
    assert stranger.request.get(alice.base_url + src).status == 404


def test_pasted_image_file_is_uploaded(both: tuple[Peer, Peer], doc: Any) -> None:
    alice, bob = both
    alice.focus_end()
    alice.page.evaluate(PASTE_FILE, [list(png(30, 20)), "image/png", "screenshot.png", None])
    expect(own_images(bob, doc)).to_have_attribute("width", "30")
    wait_loaded(bob, doc, 1)


DROP_FILE = """([bytes, name]) => {
  const data = new DataTransfer()
  data.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/png' }))
  const target = document.querySelector('.ProseMirror p')
  const box = target.getBoundingClientRect()
  const at = { clientX: box.left + 4, clientY: box.top + box.height / 2, bubbles: true, cancelable: true }
  target.dispatchEvent(new DragEvent('dragover', { ...at, dataTransfer: data }))
  target.dispatchEvent(new DragEvent('drop', { ...at, dataTransfer: data }))
}"""


def test_dropped_image_file_is_uploaded_where_it_was_dropped(
    both: tuple[Peer, Peer], doc: Any
) -> None:
    alice, bob = both
    alice.focus_end()
    alice.type("Above")
    alice.press("Enter")
    alice.type("Below")
    bob.wait_text_contains("Below")
    alice.page.evaluate(DROP_FILE, [list(png(40, 25)), "dropped.png"])
    expect(own_images(bob, doc)).to_have_attribute("height", "25")
    wait_loaded(bob, doc, 1)
    # Dropped on the first paragraph: the image goes there, the text stays.
    types = bob.page.evaluate("window.__editor.getJSON().content.map(n => n.type)")
    assert types.count("image") == 1
    assert types.index("image") < 2, types
    assert bob.page.evaluate("window.__editor.state.doc.textContent") == "AboveBelow"


def test_pasted_html_keeps_no_foreign_image(both: tuple[Peer, Peer], doc: Any) -> None:
    alice, bob = both
    alice.focus_end()
    inline = "data:image/png;base64," + base64.b64encode(png(12, 10)).decode()
    html = (
        "<p>From another editor</p>"
        '<img src="https://elsewhere.example/tracker.png" width="1" height="1">'
        f'<img src="{inline}" alt="inline">'
    )
    alice.page.evaluate(PASTE_FILE, [None, "", "", html])
    bob.wait_text_contains("From another editor")
    # The data: image is uploaded into this document; the other site's is left out, and said so.
    expect(own_images(bob, doc)).to_have_attribute("width", "12")
    wait_loaded(bob, doc, 1)
    expect(alice.page.locator("#editor-notice")).to_contain_text("another site")
    tree = alice.page.evaluate("JSON.stringify(window.__editor.getJSON())")
    assert "elsewhere.example" not in tree
    assert "data:image" not in tree


def test_a_refused_upload_shows_the_servers_message(both: tuple[Peer, Peer], doc: Any) -> None:
    alice, bob = both
    alice.focus_end()
    with alice.page.expect_file_chooser() as chooser:
        alice.page.click("#toolbar [data-action=image]")
    with alice.page.expect_response(lambda r: r.request.method == "POST") as answer:
        chooser.value.set_files(
            files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image at all"}]
        )
    assert answer.value.status == 415
    said = answer.value.json()["error"]
    notice = alice.page.locator("#editor-notice")
    expect(notice).to_have_attribute("data-notice", "image-refused")
    expect(notice.locator(".banner-text")).to_have_text(said)
    expect(alice.page.locator(".image-upload-placeholder")).to_have_count(0)
    expect(alice.page.locator(".ProseMirror img")).to_have_count(0)
    expect(bob.page.locator(".ProseMirror img")).to_have_count(0)


def test_a_viewer_cannot_upload(
    both: tuple[Peer, Peer],
    doc: Any,
    make_user: Callable[[str], Any],
    make_peer: Callable[[Any], Peer],
) -> None:
    from documents.models import Membership, Role

    alice, _ = both
    carol_user = make_user("Carol")
    Membership.objects.create(document=doc, user=carol_user, role=Role.VIEWER)
    carol = make_peer(carol_user).open(doc)
    expect(carol.page.locator("#toolbar [data-action=image]")).to_be_hidden()
    carol.page.evaluate(PASTE_FILE, [list(png(8, 8)), "image/png", "x.png", None])
    alice.focus_end()
    alice.type("After the viewer's paste")
    carol.wait_text_contains("After the viewer's paste")
    expect(carol.page.locator(".image-upload-placeholder")).to_have_count(0)
    expect(alice.page.locator(".ProseMirror img")).to_have_count(0)
