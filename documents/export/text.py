"""The body as plain text, for downloads and for the text of a version in history.

Marks are dropped, but the structure stays readable without any markup: blocks
are separated by a blank line, and list markers and quote prefixes are kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from documents.export.tree import (
    Element,
    Node,
    Source,
    Span,
    body_of,
    image_alt,
    list_items,
    plain_text,
    prefix_lines,
)


def to_text(source: Source) -> str:
    """The body as plain text: one block per paragraph, list markers kept."""
    body = _text_blocks(body_of(source), "\n\n")
    return body + "\n" if body else ""


def _text_blocks(nodes: Iterable[Node], separator: str) -> str:
    return separator.join(_text_block(node) for node in nodes)


def _text_block(node: Node) -> str:
    if isinstance(node, Span):
        return node.text
    tag = node.tag
    if tag in ("paragraph", "heading", "codeBlock"):
        return plain_text(node.children)
    if tag in ("bulletList", "orderedList", "taskList"):
        return list_items(node, lambda item: _text_blocks(item.children, "\n"), "\n")
    if tag == "blockquote":
        return prefix_lines(_text_blocks(node.children, "\n\n"), "> ", ">")
    if tag == "horizontalRule":
        return "---"
    if tag == "table":
        return "\n".join(_text_row(row) for row in node.children if isinstance(row, Element))
    if tag == "image":
        alt = image_alt(node)
        return f"[image: {alt}]" if alt else "[image]"
    if tag == "hardBreak":
        return "\n"
    return _text_blocks(node.children, "\n\n")


def _text_row(row: Element) -> str:
    # One line per row, cells apart by " | ": a cell's own lines are joined by spaces.
    cells = [child for child in row.children if isinstance(child, Element)]
    return " | ".join(" ".join(_text_blocks(cell.children, "\n").split()) for cell in cells)
