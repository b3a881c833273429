"""Exports: the body as text, HTML and Markdown, byte for byte, and who may download it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from pycrdt import Doc, Map, XmlElement, XmlFragment, XmlText

from documents import export
from documents.export.html import PRINT_STYLE
from documents.models import Document
from documents.storage import store

Chunk = str | tuple[str, dict[str, Any] | None]

BOLD: dict[str, Any] = {"bold": {}}
ITALIC: dict[str, Any] = {"italic": {}}
STRIKE: dict[str, Any] = {"strike": {}}
CODE: dict[str, Any] = {"code": {}}


# Building documents the way Tiptap (y-prosemirror) writes them ---------------


def block(parent: XmlFragment | XmlElement, tag: str, *chunks: Chunk, **attrs: Any) -> XmlElement:
    """Append an element holding formatted text; "\\n" chunks become hard breaks."""
    element = parent.children.append(XmlElement(tag, attrs))
    text: XmlText | None = None
    for chunk in chunks:
        value, marks = (chunk, None) if isinstance(chunk, str) else chunk
        if value == "\n":
            element.children.append(XmlElement("hardBreak"))
            text = None
            continue
        if text is None:
            text = element.children.append(XmlText())
        text.insert(len(text), value, marks)
    return element


def rich_body(body: XmlFragment) -> None:
    """Every node and mark the editor produces, with text that needs escaping."""
    block(body, "heading", "Plans <& goals>", level=1.0)
    block(
        body,
        "paragraph",
        "Plain ",
        ("bold", BOLD),
        ", ",
        ("italic", ITALIC),
        ", ",
        ("both", {"bold": {}, "italic": {}}),
        ", ",
        ("gone", STRIKE),
        " and ",
        ("a < b", CODE),
        "; see ",
        ("the site", {"link": {"href": "https://example.com/?a=1&b=2", "target": "_blank"}}),
        ".",
    )
    block(body, "paragraph", "first line", "\n", "# not a heading")
    bullets = body.children.append(XmlElement("bulletList"))
    item = bullets.children.append(XmlElement("listItem"))
    block(item, "paragraph", "one")
    numbered = item.children.append(XmlElement("orderedList", {"start": 1.0}))
    block(numbered.children.append(XmlElement("listItem")), "paragraph", "one.one")
    block(numbered.children.append(XmlElement("listItem")), "paragraph", "one.two")
    block(bullets.children.append(XmlElement("listItem")), "paragraph", "two *stars*")
    quote = body.children.append(XmlElement("blockquote"))
    block(quote, "paragraph", "quoted")
    block(quote, "paragraph", "1. not a list")
    block(body, "heading", "Code", level=2.0)
    block(body, "codeBlock", 'if a < b:\n    print("<hi>")', language="python")
    body.children.append(XmlElement("horizontalRule"))
    block(body, "paragraph")
    block(body, "paragraph", "The end")


def rich_doc() -> Doc:
    doc: Doc = Doc()
    rich_body(doc.get("default", type=XmlFragment))
    return doc


def doc_with(build: Callable[[XmlFragment], Any]) -> Doc:
    doc: Doc = Doc()
    build(doc.get("default", type=XmlFragment))
    return doc


RICH_TEXT = """\
Plans <& goals>

Plain bold, italic, both, gone and a < b; see the site.

first line
# not a heading

- one
  1. one.one
  2. one.two
- two *stars*

> quoted
>
> 1. not a list

Code

if a < b:
    print("<hi>")

---



The end
"""

RICH_HTML = (
    "<h1>Plans &lt;&amp; goals&gt;</h1>\n"
    "<p>Plain <strong>bold</strong>, <em>italic</em>, <strong><em>both</em></strong>, "
    "<s>gone</s> and <code>a &lt; b</code>; see "
    '<a href="https://example.com/?a=1&amp;b=2">the site</a>.</p>\n'
    "<p>first line<br># not a heading</p>\n"
    "<ul><li><p>one</p><ol><li><p>one.one</p></li><li><p>one.two</p></li></ol></li>"
    "<li><p>two *stars*</p></li></ul>\n"
    "<blockquote><p>quoted</p><p>1. not a list</p></blockquote>\n"
    "<h2>Code</h2>\n"
    '<pre><code class="language-python">if a &lt; b:\n'
    "    print(&quot;&lt;hi&gt;&quot;)</code></pre>\n"
    "<hr>\n"
    "<p></p>\n"
    "<p>The end</p>"
)

RICH_MARKDOWN = """\
# Plans \\<& goals\\>

Plain **bold**, *italic*, ***both***, ~~gone~~ and `a < b`; see [the site](https://example.com/?a=1&b=2).

first line\\
\\# not a heading

- one
  1. one.one
  2. one.two
- two \\*stars\\*

> quoted
>
> 1\\. not a list

## Code

```python
if a < b:
    print("<hi>")
```

---

The end
"""


# The formats -----------------------------------------------------------------


def test_text_export_is_exact() -> None:
    assert export.to_text(rich_doc()) == RICH_TEXT


def test_html_export_is_exact() -> None:
    assert export.to_html(rich_doc()) == RICH_HTML


def test_markdown_export_is_exact() -> None:
    assert export.to_markdown(rich_doc()) == RICH_MARKDOWN


def test_exports_read_encoded_updates_as_stored() -> None:
    update = rich_doc().get_update()
    assert export.to_html(update) == RICH_HTML
    assert export.to_markdown(memoryview(update)) == RICH_MARKDOWN


def test_empty_document_exports_nothing() -> None:
    for source in (Doc(), store.EMPTY_UPDATE, b""):
        assert export.to_text(source) == ""
        assert export.to_html(source) == ""
        assert export.to_markdown(source) == ""


def test_html_document_wraps_body_with_escaped_title() -> None:
    page = export.html_document("<p>x</p>", title='A "quoted" <title>')
    assert page == (
        '<!doctype html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        "<title>A &quot;quoted&quot; &lt;title&gt;</title>\n"
        f"<style>{PRINT_STYLE}</style>\n"
        "</head>\n<body>\n<p>x</p>\n</body>\n</html>\n"
    )


def test_html_escapes_markup_and_drops_script_links() -> None:
    def build(body: XmlFragment) -> None:
        block(
            body,
            "paragraph",
            ("<script>alert(1)</script>", BOLD),
            ("click", {"link": {"href": " JavaScript:alert(1)"}}),
            ("mail", {"link": {"href": "mailto:a@example.com"}}),
        )
        block(body, "codeBlock", "x", language='"><script>')

    doc = doc_with(build)
    assert export.to_html(doc) == (
        "<p><strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>click"
        '<a href="mailto:a@example.com">mail</a></p>\n'
        '<pre><code class="language-&quot;&gt;&lt;script&gt;">x</code></pre>'
    )
    assert "javascript" not in export.to_markdown(doc).lower()


def test_heading_levels_from_floats_are_clamped() -> None:
    def build(body: XmlFragment) -> None:
        block(body, "heading", "deep", level=9.0)
        block(body, "heading", "odd", level="3")
        block(body, "heading", "none")

    doc = doc_with(build)
    assert export.to_html(doc) == "<h6>deep</h6>\n<h3>odd</h3>\n<h1>none</h1>"
    assert export.to_markdown(doc) == "###### deep\n\n### odd\n\n# none\n"


def test_ordered_list_start_is_kept() -> None:
    def build(body: XmlFragment) -> None:
        numbered = body.children.append(XmlElement("orderedList", {"start": 3.0}))
        block(numbered.children.append(XmlElement("listItem")), "paragraph", "three")
        block(numbered.children.append(XmlElement("listItem")), "paragraph", "four")

    doc = doc_with(build)
    assert export.to_html(doc) == '<ol start="3"><li><p>three</p></li><li><p>four</p></li></ol>'
    assert export.to_markdown(doc) == "3. three\n4. four\n"
    assert export.to_text(doc) == "3. three\n4. four\n"


def test_adjacent_lists_stay_apart_in_markdown() -> None:
    def build(body: XmlFragment) -> None:
        for _ in range(2):
            bullets = body.children.append(XmlElement("bulletList"))
            block(bullets.children.append(XmlElement("listItem")), "paragraph", "item")

    assert export.to_markdown(doc_with(build)) == "- item\n\n* item\n"


def test_list_item_with_two_paragraphs_is_loose_and_indented() -> None:
    def build(body: XmlFragment) -> None:
        numbered = body.children.append(XmlElement("orderedList"))
        item = numbered.children.append(XmlElement("listItem"))
        block(item, "paragraph", "first")
        block(item, "paragraph", "second")
        block(numbered.children.append(XmlElement("listItem")), "paragraph", "next")

    assert export.to_markdown(doc_with(build)) == "1. first\n\n   second\n\n2. next\n"


def test_markdown_uses_html_where_delimiters_would_be_misread() -> None:
    doc = doc_with(lambda body: block(body, "paragraph", ("un", BOLD), "believable"))
    assert export.to_markdown(doc) == "<strong>un</strong>believable\n"


def test_markdown_moves_spaces_outside_delimiters() -> None:
    doc = doc_with(lambda body: block(body, "paragraph", "a", (" bold ", BOLD), "b"))
    assert export.to_markdown(doc) == "a **bold** b\n"


def test_markdown_code_span_holding_backticks() -> None:
    doc = doc_with(lambda body: block(body, "paragraph", ("a`b", CODE)))
    assert export.to_markdown(doc) == "``a`b``\n"


def test_markdown_code_block_fence_outgrows_its_content() -> None:
    doc = doc_with(lambda body: block(body, "codeBlock", "```\nx\n```"))
    assert export.to_markdown(doc) == "````\n```\nx\n```\n````\n"


def test_overlapping_mark_names_from_y_prosemirror_are_understood() -> None:
    doc = doc_with(lambda body: block(body, "paragraph", ("x", {"bold--AbCd1234": {}})))
    assert export.to_html(doc) == "<p><strong>x</strong></p>"


def test_non_ascii_text_survives_every_format() -> None:
    doc = doc_with(lambda body: block(body, "paragraph", ("Grüße 👋 ", BOLD), "日本"))
    assert export.to_text(doc) == "Grüße 👋 日本\n"
    assert export.to_html(doc) == "<p><strong>Grüße 👋 </strong>日本</p>"
    assert export.to_markdown(doc) == "**Grüße 👋** 日本\n"


@pytest.mark.parametrize(
    ("title", "filename"),
    [
        ("Plans for Q3", "Plans for Q3.md"),
        ('a/b\\c:d*e?"f"<g>|', "a b c d e f g.md"),
        ("  ..hidden  ", "hidden.md"),
        ("line\nbreak\ttab", "line break tab.md"),
        ("", "document.md"),
        ("CON", "_CON.md"),
        ("Größe", "Größe.md"),
    ],
)
def test_download_filename_is_safe(title: str, filename: str) -> None:
    assert export.download_filename(title, "md") == filename


# The download views ----------------------------------------------------------


def write_body(document: Document, build: Callable[[XmlFragment], Any], title: str = "") -> None:
    """Append the content to the document's log as one update, as an editor would."""
    doc: Doc = Doc()
    build(doc.get("default", type=XmlFragment))
    if title:
        doc.get("meta", type=Map)["title"] = title
    store.append([store.Pending(document.id, doc.get_update(), None)])


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["owner", "editor", "viewer"])
@pytest.mark.parametrize(
    ("fmt", "content_type", "expected"),
    [
        ("txt", "text/plain; charset=utf-8", RICH_TEXT),
        ("md", "text/markdown; charset=utf-8", RICH_MARKDOWN),
        (
            "html",
            "text/html; charset=utf-8",
            export.html_document(RICH_HTML, title="Test document"),
        ),
    ],
)
def test_every_role_downloads_every_format(
    personas: dict[str, Any],
    document: Document,
    persona: str,
    fmt: str,
    content_type: str,
    expected: str,
) -> None:
    write_body(document, rich_body)
    response = client_for(personas[persona]).get(f"/documents/{document.pk}/export.{fmt}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="Test document.{fmt}"'
    assert "no-store" in response["Cache-Control"]
    assert response.content.decode() == expected


@pytest.mark.django_db
def test_download_is_named_after_the_shared_title(
    personas: dict[str, Any], document: Document
) -> None:
    write_body(document, rich_body, title="Été: plans/ideas")
    response = client_for(personas["owner"]).get(f"/documents/{document.pk}/export.md")
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%C3%89t%C3%A9%20plans%20ideas.md"
    )


@pytest.mark.django_db
def test_empty_document_downloads_empty_file(personas: dict[str, Any], document: Document) -> None:
    response = client_for(personas["owner"]).get(f"/documents/{document.pk}/export.txt")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.django_db
def test_stranger_cannot_tell_a_document_exists(
    personas: dict[str, Any], document: Document
) -> None:
    client = client_for(personas["stranger"])
    assert client.get(f"/documents/{document.pk}/export.txt").status_code == 404
    assert client.get(f"/documents/{Document().pk}/export.txt").status_code == 404


@pytest.mark.django_db
def test_anonymous_download_redirects_to_login(document: Document) -> None:
    url = f"/documents/{document.pk}/export.html"
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert url in response["Location"]


@pytest.mark.django_db
def test_unknown_format_is_not_found(personas: dict[str, Any], document: Document) -> None:
    response = client_for(personas["owner"]).get(f"/documents/{document.pk}/export.pdf")
    assert response.status_code == 404


@pytest.mark.django_db
def test_download_only_answers_get(personas: dict[str, Any], document: Document) -> None:
    response = client_for(personas["owner"]).post(f"/documents/{document.pk}/export.txt")
    assert response.status_code == 405
