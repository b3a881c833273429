"""The body as an HTML fragment, and a standalone page wrapping one for download.

Version previews in the browser show this HTML, so every piece of document text
and every attribute is escaped here and links that could run script are dropped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from documents.export.tree import (
    Element,
    Images,
    Mark,
    Node,
    NotePlaces,
    NoteRef,
    Source,
    Span,
    body_of,
    cell_span,
    cell_widths,
    heading_level,
    image_alt,
    image_dimension,
    image_src,
    link_href,
    list_start,
    note_refs,
    open_close,
    plain_text,
    task_checked,
)

HTML_MARK_TAGS = {
    "bold": "strong",
    "italic": "em",
    "underline": "u",
    "strike": "s",
    "highlight": "mark",
    "code": "code",
}

# A downloaded page prints like a document: text width, tables with borders,
# images no wider than the page, no link colours wasted on paper.
PRINT_STYLE = """
body { font: 16px/1.5 Georgia, "Times New Roman", serif; max-width: 42rem; margin: 2rem auto;
  padding: 0 1rem; color: #111; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #999; padding: 0.25rem 0.5rem; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
th > p, td > p { margin: 0; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; white-space: pre-wrap; }
blockquote { border-left: 3px solid #ccc; margin-left: 0; padding-left: 1rem; color: #444; }
ul[data-type="taskList"] { list-style: none; padding-left: 0.5rem; }
ul[data-type="taskList"] li { display: flex; gap: 0.5rem; }
ul[data-type="taskList"] li > div > p { margin: 0; }
mark { background: #fff3a0; }
@media print {
  body { margin: 0; max-width: none; font-size: 12pt; }
  a { color: inherit; }
  h1, h2, h3 { break-after: avoid; }
  table, img, pre, blockquote { break-inside: avoid; }
}
"""


def to_html(
    source: Source, *, images: Images | None = None, notes: NotePlaces | None = None
) -> str:
    """The body as an HTML fragment, every piece of text escaped; `images` says which show,
    `notes` where comment markers go (footnote links to `comment-N`)."""
    return "\n".join(_html_block(node, images) for node in body_of(source, notes=notes))


def note_ref_html(number: int) -> str:
    """A comment marker: a link to note `number`, which links back to it."""
    number = int(number)  # only ever a number in the markup
    return f'<sup><a href="#comment-{number}" id="comment-ref-{number}">{number}</a></sup>'


def html_document(body: str, *, title: str) -> str:
    """An HTML fragment wrapped as a standalone page for download."""
    return (
        "<!doctype html>\n"
        '<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>{PRINT_STYLE}</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def html_block(node: Node, images: Images | None) -> str:
    """One block (a table, say) as HTML, for formats that fall back to HTML for it."""
    return _html_block(node, images)


def _html_blocks(nodes: Iterable[Node], images: Images | None) -> str:
    return "".join(_html_block(node, images) for node in nodes)


def _html_block(node: Node, images: Images | None) -> str:
    if isinstance(node, Span):
        return _html_inline((node,))
    if isinstance(node, NoteRef):
        return note_ref_html(node.number)
    tag = node.tag
    if tag == "paragraph":
        return f"<p>{_html_inline(node.children)}</p>"
    if tag == "heading":
        level = heading_level(node)
        return f"<h{level}>{_html_inline(node.children)}</h{level}>"
    if tag == "bulletList":
        return f"<ul>{_html_blocks(node.children, images)}</ul>"
    if tag == "orderedList":
        start = list_start(node)
        start_attr = f' start="{start}"' if start != 1 else ""
        return f"<ol{start_attr}>{_html_blocks(node.children, images)}</ol>"
    if tag == "taskList":
        return f'<ul data-type="taskList">{_html_blocks(node.children, images)}</ul>'
    if tag == "taskItem":
        checked = task_checked(node)
        return (
            f'<li data-type="taskItem" data-checked="{"true" if checked else "false"}">'
            f'<label><input type="checkbox" disabled{" checked" if checked else ""}></label>'
            f"<div>{_html_blocks(node.children, images)}</div></li>"
        )
    if tag == "table":
        return f"<table><tbody>{_html_blocks(node.children, images)}</tbody></table>"
    if tag == "tableRow":
        return f"<tr>{_html_blocks(node.children, images)}</tr>"
    if tag in ("tableHeader", "tableCell"):
        return _html_cell(node, images)
    if tag == "image":
        return _html_image(node, images)
    if tag == "listItem":
        return f"<li>{_html_blocks(node.children, images)}</li>"
    if tag == "blockquote":
        return f"<blockquote>{_html_blocks(node.children, images)}</blockquote>"
    if tag == "codeBlock":
        language = node.attrs.get("language")
        class_attr = (
            f' class="language-{html.escape(language)}"'
            if isinstance(language, str) and language
            else ""
        )
        code = html.escape(plain_text(node.children))
        # Code shows its text alone: a thread ending inside it is marked after it.
        refs = "".join(note_ref_html(ref.number) for ref in note_refs(node.children))
        return f"<pre><code{class_attr}>{code}</code></pre>{refs}"
    if tag == "horizontalRule":
        return "<hr>"
    if tag == "hardBreak":
        return "<br>"
    # An element this exporter does not know: keep its content, drop the wrapper.
    return _html_blocks(node.children, images)


def _html_cell(node: Element, images: Images | None) -> str:
    cell = "th" if node.tag == "tableHeader" else "td"
    attrs = ""
    for key in ("colspan", "rowspan"):
        span = cell_span(node, key)
        if span != 1:
            attrs += f' {key}="{span}"'
    widths = cell_widths(node)
    if widths:
        attrs += f' colwidth="{",".join(map(str, widths))}"'
    return f"<{cell}{attrs}>{_html_blocks(node.children, images)}</{cell}>"


def _html_image(node: Element, images: Images | None) -> str:
    src = image_src(node, images)
    if src is None:
        return ""
    attrs = f' src="{html.escape(src)}" alt="{html.escape(image_alt(node))}"'
    for key in ("width", "height"):
        value = image_dimension(node, key)
        if value is not None:
            attrs += f' {key}="{value}"'
    return f"<img{attrs}>"


def _html_inline(nodes: Iterable[Node]) -> str:
    parts: list[str] = []
    spans: list[tuple[str, tuple[Mark, ...]]] = []

    def flush() -> None:
        parts.append(open_close(spans, _html_open, _html_close, html.escape))
        spans.clear()

    for node in nodes:
        if isinstance(node, Span):
            spans.append((node.text, node.marks))
        elif isinstance(node, NoteRef):
            flush()
            parts.append(note_ref_html(node.number))
        elif node.tag == "hardBreak":
            # A break inside marked text stays inside the marks.
            spans.append(("\n", spans[-1][1] if spans else ()))
        else:
            flush()
            parts.append(_html_inline(node.children))
    flush()
    return "".join(parts).replace("\n", "<br>")


def _html_open(mark: Mark) -> str:
    if mark.name == "link":
        href = link_href(mark)
        return f'<a href="{html.escape(href)}">' if href else ""
    tag = HTML_MARK_TAGS.get(mark.name)
    return f"<{tag}>" if tag else ""


def _html_close(mark: Mark) -> str:
    if mark.name == "link":
        return "</a>" if link_href(mark) else ""
    tag = HTML_MARK_TAGS.get(mark.name)
    return f"</{tag}>" if tag else ""
