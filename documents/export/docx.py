"""The body as a Word (.docx) file, written with python-docx; images are embedded.

Word has a style for most nodes (Heading 1-6, List Bullet, List Number, Quote,
Table Grid); marks become run formatting, links real hyperlinks (http, https,
mailto and tel only, as everywhere), and images of this document are embedded
from their bytes, which the caller reads (`image_bytes`), so this module stays
free of storage and the database. WebP, which Word cannot show, is converted to
PNG. Ordered lists use Word's one running number sequence: a second list
continues the first one's numbers, a known limit of python-docx's numbering.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from docx import Document as WordDocument
from docx.enum.text import WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Pt, RGBColor
from docx.text.run import Run
from PIL import Image

from documents.export.tree import (
    Element,
    Images,
    Mark,
    Node,
    Source,
    Span,
    body_of,
    cell_span,
    heading_level,
    image_alt,
    image_dimension,
    image_src,
    link_href,
    plain_text,
    task_checked,
)

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MONOSPACE = "Courier New"
LINK_COLOUR = RGBColor(0x05, 0x63, 0xC1)
# Images are placed at their pixel size (96 per inch), never wider than the text.
EMU_PER_PIXEL = 9525
MAX_IMAGE_EMU = 6 * 914400
LIST_STYLES = {"bulletList": "List Bullet", "taskList": "List Bullet", "orderedList": "List Number"}
# An image's src (as written in the body) -> its bytes, or None when unavailable.
ImageBytes = Callable[[str], bytes | None]


def to_docx(
    source: Source,
    *,
    title: str,
    images: Images | None = None,
    image_bytes: ImageBytes = lambda src: None,
) -> bytes:
    """The body as a .docx file's bytes."""
    word = WordDocument()
    word.core_properties.title = title
    writer = _Writer(word, images, image_bytes)
    writer.blocks(word, body_of(source), list_depth=0)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


class _Writer:
    def __init__(self, word: Any, images: Images | None, image_bytes: ImageBytes) -> None:
        self.word = word
        self.images = images
        self.image_bytes = image_bytes

    def blocks(
        self, container: Any, nodes: Iterable[Node], *, list_depth: int, style: str | None = None
    ) -> None:
        for node in nodes:
            self.block(container, node, list_depth=list_depth, style=style)

    def block(self, container: Any, node: Node, *, list_depth: int, style: str | None) -> None:
        if isinstance(node, Span):
            self.runs(container.add_paragraph(style=style), (node,))
            return
        tag = node.tag
        if tag == "paragraph":
            self.runs(container.add_paragraph(style=style), node.children)
        elif tag == "heading":
            self.runs(
                container.add_paragraph(style=f"Heading {heading_level(node)}"), node.children
            )
        elif tag in LIST_STYLES:
            self.list(container, node, list_depth=list_depth)
        elif tag == "blockquote":
            self.blocks(container, node.children, list_depth=list_depth, style="Quote")
        elif tag == "codeBlock":
            paragraph = container.add_paragraph(style=style)
            lines = plain_text(node.children).split("\n")
            for index, line in enumerate(lines):
                run = paragraph.add_run(line)
                run.font.name = MONOSPACE
                run.font.size = Pt(10)
                if index < len(lines) - 1:
                    run.add_break()
        elif tag == "horizontalRule":
            _bottom_border(container.add_paragraph())
        elif tag == "table":
            self.table(container, node)
        elif tag == "image":
            self.image(container, node)
        elif tag != "hardBreak":
            self.blocks(container, node.children, list_depth=list_depth, style=style)

    def list(self, container: Any, node: Element, *, list_depth: int) -> None:
        level = min(list_depth + 1, 3)
        base = LIST_STYLES[node.tag]
        style = base if level == 1 else f"{base} {level}"
        for item in node.children:
            if not isinstance(item, Element):
                continue
            first, *rest = item.children or (Element("paragraph"),)
            paragraph = container.add_paragraph(style=style)
            if node.tag == "taskList":
                paragraph.add_run("☑ " if task_checked(item) else "☐ ")
            if isinstance(first, Element) and first.tag == "paragraph":
                self.runs(paragraph, first.children)
            else:
                rest = [first, *rest]
            for block in rest:
                self.block(container, block, list_depth=list_depth + 1, style=None)

    def table(self, container: Any, node: Element) -> None:
        rows = [row for row in node.children if isinstance(row, Element)]
        placed: list[tuple[int, int, int, int, Element]] = []
        taken: set[tuple[int, int]] = set()
        width = 0
        for r, row in enumerate(rows):
            c = 0
            for cell in row.children:
                if not isinstance(cell, Element):
                    continue
                while (r, c) in taken:
                    c += 1
                colspan = cell_span(cell, "colspan")
                rowspan = min(cell_span(cell, "rowspan"), len(rows) - r)
                for dr in range(rowspan):
                    for dc in range(colspan):
                        taken.add((r + dr, c + dc))
                placed.append((r, c, rowspan, colspan, cell))
                c += colspan
                width = max(width, c)
        if not rows or width == 0:
            return
        table = container.add_table(rows=len(rows), cols=width)
        table.style = "Table Grid"
        for r, c, rowspan, colspan, cell in placed:
            target = table.cell(r, c)
            if rowspan > 1 or colspan > 1:
                target = target.merge(table.cell(r + rowspan - 1, c + colspan - 1))
            self.cell(target, cell)

    def cell(self, target: Any, cell: Element) -> None:
        # A new cell holds one empty paragraph: the first block goes there.
        paragraphs = list(target.paragraphs)
        start = len(paragraphs)
        self.blocks(target, cell.children, list_depth=0)
        if start and len(target.paragraphs) > start:
            first = paragraphs[0]._element
            first.getparent().remove(first)
        if cell.tag == "tableHeader":
            for paragraph in target.paragraphs:
                for run in paragraph.runs:
                    run.bold = True

    def image(self, container: Any, node: Element) -> None:
        src = image_src(node, self.images)
        data = self.image_bytes(src) if src is not None else None
        if data is None:
            return
        try:
            stream = _word_image(data)
        except OSError:
            return
        width = image_dimension(node, "width") or 0
        height = image_dimension(node, "height") or 0
        paragraph = container.add_paragraph()
        run = paragraph.add_run()
        if width and height:
            emu_w, emu_h = width * EMU_PER_PIXEL, height * EMU_PER_PIXEL
            if emu_w > MAX_IMAGE_EMU:
                emu_w, emu_h = MAX_IMAGE_EMU, emu_h * MAX_IMAGE_EMU // emu_w
            picture = run.add_picture(stream, width=Emu(emu_w), height=Emu(emu_h))
        else:
            picture = run.add_picture(stream)
            if picture.width and picture.width > MAX_IMAGE_EMU:
                picture.height = Emu(picture.height * MAX_IMAGE_EMU // picture.width)
                picture.width = Emu(MAX_IMAGE_EMU)
        alt = image_alt(node)
        if alt:
            # The picture's description is what screen readers say in Word.
            doc_pr = run._r.find(".//" + qn("wp:docPr"))
            if doc_pr is not None:
                doc_pr.set("descr", alt)

    def runs(self, paragraph: Any, nodes: Iterable[Node]) -> None:
        for node in nodes:
            if isinstance(node, Span):
                self.span(paragraph, node)
            elif node.tag == "hardBreak":
                paragraph.add_run().add_break()
            else:
                self.runs(paragraph, node.children)

    def span(self, paragraph: Any, span: Span) -> None:
        link = next((mark for mark in span.marks if mark.name == "link"), None)
        href = link_href(link) if link is not None else None
        if href is None:
            _format(paragraph.add_run(span.text), span.marks)
            return
        relation = paragraph.part.relate_to(href, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        hyperlink = OxmlElement("w:hyperlink")
        hyperlink.set(qn("r:id"), relation)
        paragraph._p.append(hyperlink)
        run_element = OxmlElement("w:r")
        hyperlink.append(run_element)
        run = Run(run_element, paragraph)
        run.text = span.text
        # Word's own look for a link; its template has no Hyperlink style to use.
        run.font.underline = True
        run.font.color.rgb = LINK_COLOUR
        _format(run, span.marks)


def _format(run: Any, marks: Iterable[Mark]) -> None:
    for mark in marks:
        if mark.name == "bold":
            run.bold = True
        elif mark.name == "italic":
            run.italic = True
        elif mark.name == "underline":
            run.underline = True
        elif mark.name == "strike":
            run.font.strike = True
        elif mark.name == "highlight":
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        elif mark.name == "code":
            run.font.name = MONOSPACE


def _bottom_border(paragraph: Any) -> None:
    """A horizontal rule: an empty paragraph with a bottom border, as Word draws one."""
    properties = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "999999")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    properties.append(borders)


def _word_image(data: bytes) -> io.BytesIO:
    """The bytes in a format Word shows: PNG, JPEG and GIF as they are, WebP as PNG."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format in ("PNG", "JPEG", "GIF"):
            return io.BytesIO(data)
        out = io.BytesIO()
        image.save(out, format="PNG")
    out.seek(0)
    return out
