"""The body as an HTML fragment, and a standalone page wrapping one for download.

Version previews in the browser show this HTML, so every piece of document text
and every attribute is escaped here and links that could run script are dropped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from documents.export.tree import (
    Mark,
    Node,
    Source,
    Span,
    body_of,
    heading_level,
    link_href,
    list_start,
    open_close,
    plain_text,
)

HTML_MARK_TAGS = {"bold": "strong", "italic": "em", "underline": "u", "strike": "s", "code": "code"}


def to_html(source: Source) -> str:
    """The body as an HTML fragment, every piece of text escaped."""
    return "\n".join(_html_block(node) for node in body_of(source))


def html_document(body: str, *, title: str) -> str:
    """An HTML fragment wrapped as a standalone page for download."""
    return (
        "<!doctype html>\n"
        '<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _html_blocks(nodes: Iterable[Node]) -> str:
    return "".join(_html_block(node) for node in nodes)


def _html_block(node: Node) -> str:
    if isinstance(node, Span):
        return _html_inline((node,))
    tag = node.tag
    if tag == "paragraph":
        return f"<p>{_html_inline(node.children)}</p>"
    if tag == "heading":
        level = heading_level(node)
        return f"<h{level}>{_html_inline(node.children)}</h{level}>"
    if tag == "bulletList":
        return f"<ul>{_html_blocks(node.children)}</ul>"
    if tag == "orderedList":
        start = list_start(node)
        start_attr = f' start="{start}"' if start != 1 else ""
        return f"<ol{start_attr}>{_html_blocks(node.children)}</ol>"
    if tag == "listItem":
        return f"<li>{_html_blocks(node.children)}</li>"
    if tag == "blockquote":
        return f"<blockquote>{_html_blocks(node.children)}</blockquote>"
    if tag == "codeBlock":
        language = node.attrs.get("language")
        class_attr = (
            f' class="language-{html.escape(language)}"'
            if isinstance(language, str) and language
            else ""
        )
        return f"<pre><code{class_attr}>{html.escape(plain_text(node.children))}</code></pre>"
    if tag == "horizontalRule":
        return "<hr>"
    if tag == "hardBreak":
        return "<br>"
    # An element this exporter does not know: keep its content, drop the wrapper.
    return _html_blocks(node.children)


def _html_inline(nodes: Iterable[Node]) -> str:
    parts: list[str] = []
    spans: list[tuple[str, tuple[Mark, ...]]] = []

    def flush() -> None:
        parts.append(open_close(spans, _html_open, _html_close, html.escape))
        spans.clear()

    for node in nodes:
        if isinstance(node, Span):
            spans.append((node.text, node.marks))
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
