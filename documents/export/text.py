"""The body as plain text, for downloads and for the text of a version in history.

Marks are dropped, but the structure stays readable without any markup: blocks
are separated by a blank line, and list markers and quote prefixes are kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from documents.export.tree import Node, Source, Span, body_of, list_items, plain_text, prefix_lines


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
    if tag in ("bulletList", "orderedList"):
        return list_items(node, lambda item: _text_blocks(item.children, "\n"), "\n")
    if tag == "blockquote":
        return prefix_lines(_text_blocks(node.children, "\n\n"), "> ", ">")
    if tag == "horizontalRule":
        return "---"
    if tag == "hardBreak":
        return "\n"
    return _text_blocks(node.children, "\n\n")
