"""Exports of the nodes and marks beyond StarterKit's: links, underline, code, highlight, rules,
task lists, tables and images, in HTML, Markdown and text, and which images a rendering shows."""

from __future__ import annotations

import uuid
from typing import Any

from markdown_it import MarkdownIt
from pycrdt import Doc, XmlElement, XmlFragment

from documents import export
from documents.tests.unit.test_export import block

DOC_ID = "0b9f2a4e-6c1d-4d53-9a57-1c1e7f2e9a10"
IMAGE_SRC = f"/documents/{DOC_ID}/images/5d0c7e0e-0f2a-4c55-8e43-96b4a1c8f001/"
OTHER_SRC = f"/documents/{uuid.uuid4()}/images/{uuid.uuid4()}/"
IMAGES = export.Images(DOC_ID)


def cell(row: XmlElement, tag: str, *chunks: Any, **attrs: Any) -> XmlElement:
    element = row.children.append(XmlElement(tag, {"colspan": 1.0, "rowspan": 1.0, **attrs}))
    block(element, "paragraph", *chunks)
    return element


def every_node(body: XmlFragment) -> None:
    """One of each node and mark the editor adds, as y-prosemirror writes them."""
    block(
        body,
        "paragraph",
        ("under", {"underline": {}}),
        " ",
        ("lit", {"highlight": {}}),
        " ",
        ("x()", {"code": {}}),
        " ",
        ("site", {"link": {"href": "https://example.com/a b", "target": "_blank"}}),
        " ",
        ("evil", {"link": {"href": "java\tscript:alert(1)"}}),
    )
    body.children.append(XmlElement("horizontalRule"))
    tasks = body.children.append(XmlElement("taskList"))
    block(tasks.children.append(XmlElement("taskItem", {"checked": True})), "paragraph", "done")
    block(tasks.children.append(XmlElement("taskItem", {"checked": False})), "paragraph", "todo")
    table = body.children.append(XmlElement("table"))
    head = table.children.append(XmlElement("tableRow"))
    cell(head, "tableHeader", "Name")
    cell(head, "tableHeader", "A|B")
    row = table.children.append(XmlElement("tableRow"))
    cell(row, "tableCell", ("bold", {"bold": {}}))
    cell(row, "tableCell", "2", colwidth=[120.0])
    body.children.append(
        XmlElement("image", {"src": IMAGE_SRC, "alt": 'a "cat"', "width": 640.0, "height": 480.0})
    )
    body.children.append(XmlElement("image", {"src": OTHER_SRC, "alt": "foreign"}))
    body.children.append(XmlElement("image", {"src": "https://evil.example/x.png"}))


def doc_with(build=every_node) -> Doc:
    doc: Doc = Doc()
    build(doc.get("default", type=XmlFragment))
    return doc


def test_html_renders_every_node():
    html = export.to_html(doc_with(), images=IMAGES)
    assert "<u>under</u> <mark>lit</mark> <code>x()</code>" in html
    assert '<a href="https://example.com/a b">site</a> evil</p>' in html
    assert "<hr>" in html
    assert (
        '<ul data-type="taskList"><li data-type="taskItem" data-checked="true">'
        '<label><input type="checkbox" disabled checked></label><div><p>done</p></div></li>'
    ) in html
    assert 'data-checked="false"><label><input type="checkbox" disabled></label>' in html
    assert (
        "<table><tbody><tr><th><p>Name</p></th><th><p>A|B</p></th></tr>"
        '<tr><td><p><strong>bold</strong></p></td><td colwidth="120"><p>2</p></td></tr>'
        "</tbody></table>"
    ) in html
    assert f'<img src="{IMAGE_SRC}" alt="a &quot;cat&quot;" width="640" height="480">' in html


def test_only_images_of_the_same_document_are_rendered():
    html = export.to_html(doc_with(), images=IMAGES)
    assert html.count("<img") == 1
    assert "foreign" not in html and "evil.example" not in html
    # Without saying which document, no image at all.
    assert "<img" not in export.to_html(doc_with())
    # Another document's id in the same shape of URL is not this document's image.
    assert "<img" not in export.to_html(doc_with(), images=export.Images(str(uuid.uuid4())))


def test_downloads_prefix_the_origin():
    images = export.Images(DOC_ID, origin="https://docs.example")
    assert f'src="https://docs.example{IMAGE_SRC}"' in export.to_html(doc_with(), images=images)
    assert f"](https://docs.example{IMAGE_SRC})" in export.to_markdown(doc_with(), images=images)


def test_markdown_renders_every_node():
    md = export.to_markdown(doc_with(), images=IMAGES)
    assert md == (
        "<u>under</u> <mark>lit</mark> `x()` [site](https://example.com/a%20b) evil\n\n"
        "---\n\n"
        "- [x] done\n- [ ] todo\n\n"
        "| Name | A\\|B |\n| --- | --- |\n| **bold** | 2 |\n\n"
        f'![a "cat"]({IMAGE_SRC})\n'
    )


def test_markdown_reads_back_as_the_html_export():
    md = export.to_markdown(doc_with(), images=IMAGES)
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<u>under</u> <mark>lit</mark> <code>x()</code>" in rendered
    assert "<th>A|B</th>" in rendered
    assert "<td><strong>bold</strong></td>" in rendered
    assert f'<img src="{IMAGE_SRC}" alt="a &quot;cat&quot;" />' in rendered
    assert "<li>[x] done</li>" in rendered


def spanned_table(body: XmlFragment) -> None:
    table = body.children.append(XmlElement("table"))
    row = table.children.append(XmlElement("tableRow"))
    cell(row, "tableCell", "wide", colspan=2.0)
    row = table.children.append(XmlElement("tableRow"))
    code = row.children.append(XmlElement("tableCell", {"colspan": 1.0, "rowspan": 1.0}))
    block(code, "codeBlock", "a\n\nb")
    cell(row, "tableCell", "<b>")


def test_a_table_markdown_cannot_hold_is_an_html_block_without_blank_lines():
    md = export.to_markdown(doc_with(spanned_table))
    assert md.startswith('<table><tbody><tr><td colspan="2"><p>wide</p></td></tr>')
    assert "\n\n" not in md.strip()
    assert "&lt;b&gt;" in md
    rendered = MarkdownIt("commonmark").render(md)
    assert rendered.strip() == md.strip()


def test_text_renders_every_node():
    text = export.to_text(doc_with())
    assert text == (
        "under lit x() site evil\n\n"
        "---\n\n"
        "- [x] done\n- [ ] todo\n\n"
        "Name | A|B\nbold | 2\n\n"
        '[image: a "cat"]\n\n[image: foreign]\n\n[image]\n'
    )


def test_task_item_content_lines_up_after_the_dash():
    def nested(body: XmlFragment) -> None:
        tasks = body.children.append(XmlElement("taskList"))
        item = tasks.children.append(XmlElement("taskItem", {"checked": False}))
        block(item, "paragraph", "parent")
        inner = item.children.append(XmlElement("taskList"))
        block(
            inner.children.append(XmlElement("taskItem", {"checked": True})), "paragraph", "child"
        )

    md = export.to_markdown(doc_with(nested))
    assert md == "- [ ] parent\n  - [x] child\n"


def test_hostile_attributes_are_escaped_or_dropped():
    def hostile(body: XmlFragment) -> None:
        body.children.append(
            XmlElement("image", {"src": IMAGE_SRC + '"><script>', "alt": "<script>"})
        )
        body.children.append(
            XmlElement("image", {"src": IMAGE_SRC, "alt": "<script>x</script>", "width": "1e400"})
        )
        table = body.children.append(XmlElement("table"))
        row = table.children.append(XmlElement("tableRow"))
        cell(row, "tableCell", "x", colspan='2" onclick="x', colwidth=["<b>"])

    html = export.to_html(doc_with(hostile), images=IMAGES)
    assert "<script" not in html
    assert "onclick" not in html
    assert html.count("<img") == 1
    assert 'alt="&lt;script&gt;x&lt;/script&gt;">' in html
