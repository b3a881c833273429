"""The .docx export: every node as Word writes it, read back with python-docx and mammoth."""

from __future__ import annotations

import io

import mammoth
from docx import Document as WordDocument
from PIL import Image
from pycrdt import Doc, XmlElement, XmlFragment

from documents import export
from documents.tests.unit.test_export import block, rich_body
from documents.tests.unit.test_export_nodes import IMAGE_SRC, IMAGES, cell, every_node


def doc_with(*builders) -> Doc:
    doc: Doc = Doc()
    body = doc.get("default", type=XmlFragment)
    for build in builders:
        build(body)
    return doc


def image_bytes(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 200, 10)).save(out, format=fmt)
    return out.getvalue()


def read_back(data: bytes):
    return WordDocument(io.BytesIO(data))


def test_every_node_lands_in_word_with_its_style():
    served = []

    def image_bytes_for(src: str) -> bytes:
        served.append(src)
        return image_bytes("WEBP")

    data = export.to_docx(
        doc_with(rich_body, every_node), title="Plans", images=IMAGES, image_bytes=image_bytes_for
    )
    word = read_back(data)
    assert word.core_properties.title == "Plans"
    styles = [(p.style.name, p.text) for p in word.paragraphs]
    assert ("Heading 1", "Plans <& goals>") in styles
    assert ("Heading 2", "Code") in styles
    assert ("List Bullet", "one") in styles
    assert ("List Number 2", "one.one") in styles
    assert ("Quote", "quoted") in styles
    assert ("List Bullet", "☑ done") in styles and ("List Bullet", "☐ todo") in styles
    runs = {run.text: run for p in word.paragraphs for run in p.runs}
    assert runs["bold"].bold and runs["italic"].italic
    assert runs["gone"].font.strike and runs["under"].underline
    assert runs["lit"].font.highlight_color is not None
    assert runs["a < b"].font.name == "Courier New"
    # Only the image of this document was asked for, and it is embedded (WebP as PNG).
    assert served == [IMAGE_SRC]
    assert len(word.inline_shapes) == 1
    # 640 px at 96 per inch is wider than the text: scaled to 6 inches, aspect kept.
    assert word.inline_shapes[0].width == 6 * 914400
    assert word.inline_shapes[0].height == 6 * 914400 * 480 // 640
    table = word.tables[0]
    assert [[c.text for c in row.cells] for row in table.rows] == [["Name", "A|B"], ["bold", "2"]]


def test_links_are_hyperlinks_and_unsafe_ones_plain_text():
    data = export.to_docx(doc_with(every_node), title="x")
    html = mammoth.convert_to_html(io.BytesIO(data)).value
    assert '<a href="https://example.com/a b">site</a>' in html
    assert "javascript" not in html and "evil" in html


def test_the_word_file_imports_back_with_mammoth():
    def spans(body: XmlFragment) -> None:
        table = body.children.append(XmlElement("table"))
        row = table.children.append(XmlElement("tableRow"))
        cell(row, "tableCell", "wide", colspan=2.0)
        row = table.children.append(XmlElement("tableRow"))
        cell(row, "tableCell", "a")
        cell(row, "tableCell", "b")
        block(body, "paragraph", "after")

    html = mammoth.convert_to_html(io.BytesIO(export.to_docx(doc_with(spans), title="x"))).value
    assert '<td colspan="2"><p>wide</p></td>' in html
    assert "<p>after</p>" in html


def test_without_the_documents_id_no_image_is_embedded():
    def image(body: XmlFragment) -> None:
        body.children.append(XmlElement("image", {"src": IMAGE_SRC}))

    asked = []
    data = export.to_docx(doc_with(image), title="x", image_bytes=lambda s: asked.append(s))
    assert asked == [] and len(read_back(data).inline_shapes) == 0
