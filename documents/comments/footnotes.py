"""A document's open comment threads as notes after the exported body (?comments=1).

Kept out of the body itself: the export renders the text alone, and these
notes follow it, numbered in the order the threads were opened, each with the
text it was made on and its comments. Resolved threads are left out, as a
reader of the exported file would expect. Names and comments are escaped for
the format (HTML entities; Markdown punctuation).
"""

from __future__ import annotations

import html
import re
from typing import Any

from django.db.models import Prefetch

from documents.comments.models import Comment, CommentThread
from documents.identity import display_name

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def open_threads(*, document: Any) -> list[CommentThread]:
    """The document's unresolved threads with their comments and authors."""
    comments = Prefetch("comments", queryset=Comment.objects.select_related("author"))
    return list(
        CommentThread.objects.filter(document=document, resolved_at__isnull=True)
        .order_by("created_at", "id")
        .prefetch_related(comments)
    )


def _author(comment: Comment) -> str:
    return display_name(comment.author) if comment.author else "Deleted user"


def _md(text: str) -> str:
    # One line per note: newlines inside a comment become spaces.
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def markdown(threads: list[CommentThread]) -> str:
    """The notes as a Markdown section to append to the body ("" without threads)."""
    if not threads:
        return ""
    lines = ["", "", "---", "", "**Comments**", ""]
    for number, thread in enumerate(threads, start=1):
        said = " · ".join(f"**{_md(_author(c))}**: {_md(c.body)}" for c in thread.comments.all())
        lines.append(f"{number}\\. “{_md(thread.quote)}” — {said}")
        lines.append("")
    return "\n".join(lines)


def html_section(threads: list[CommentThread]) -> str:
    """The notes as an HTML section to append to the body ("" without threads)."""
    if not threads:
        return ""
    items = []
    for thread in threads:
        said = "".join(
            f"<p><strong>{html.escape(_author(c))}</strong>: "
            f"{html.escape(c.body).replace(chr(10), '<br>')}</p>"
            for c in thread.comments.all()
        )
        items.append(f"<li><blockquote>{html.escape(thread.quote)}</blockquote>{said}</li>")
    return (
        '\n<section class="comments"><hr><h2>Comments</h2><ol>'
        + "".join(items)
        + "</ol></section>\n"
    )
