"""A document's open comment threads as notes of an exported file (?comments=1).

Each thread whose text is still there gets a marker in the body where that
text ends, resolved from its anchor against the exported state (anchors.py),
and a note after the body: Markdown footnotes (`[^N]` and `[^N]: ...`, as
GitHub, Pandoc and markdown-it's footnote plugin read them), HTML links both
ways (`#comment-N`, `#comment-ref-N`). Notes are numbered in the order their
markers read, as footnotes are. A detached thread (its whole text deleted)
has no place to mark: it is listed after the notes as detached, with the
quote it was made on. Resolved threads are left out, as a reader of the file
would expect. Quotes, names and comments are user text and are escaped for
the format (HTML entities; Markdown punctuation, so none can open a link, a
footnote or a tag).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from pycrdt import Doc

from documents.comments.anchors import Anchors
from documents.comments.models import Comment, CommentThread
from documents.identity import display_name

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


@dataclass(frozen=True)
class Notes:
    """The threads as notes: numbered ones with a marker in the body, then the detached."""

    numbered: list[tuple[int, CommentThread]] = field(default_factory=list)
    detached: list[CommentThread] = field(default_factory=list)
    # Where the markers go (export.tree.NotePlaces).
    places: dict[tuple[int, ...], list[tuple[int, int]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.numbered or self.detached)


def open_threads(*, document: Any) -> list[CommentThread]:
    """The document's unresolved threads with their comments and authors."""
    comments = Prefetch("comments", queryset=Comment.objects.select_related("author"))
    return list(
        CommentThread.objects.filter(document=document, resolved_at__isnull=True)
        .order_by("created_at", "id")
        .prefetch_related(comments)
    )


def notes_for(doc: Doc[Any], threads: list[CommentThread]) -> Notes:
    """Number the threads by where their text ends in `doc`; the detached ones go last."""
    if not threads:
        return Notes()
    anchors = Anchors(doc)
    placed = []
    detached = []
    for order, thread in enumerate(threads):
        end = anchors.end_of(bytes(thread.anchor_from), bytes(thread.anchor_to))
        if end is None:
            detached.append(thread)
        else:
            placed.append((end.key, order, end, thread))
    placed.sort(key=lambda row: (row[0], row[1]))
    places: dict[tuple[int, ...], list[tuple[int, int]]] = defaultdict(list)
    numbered = []
    for number, (_, _, end, thread) in enumerate(placed, start=1):
        places[end.path].append((end.index, number))
        numbered.append((number, thread))
    return Notes(numbered, detached, dict(places))


def _author(comment: Comment) -> str:
    return display_name(comment.author) if comment.author else "Deleted user"


def _md(text: str) -> str:
    # One line per note: newlines inside a comment become spaces.
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_note(thread: CommentThread) -> str:
    said = " · ".join(f"**{_md(_author(c))}**: {_md(c.body)}" for c in thread.comments.all())
    return f"“{_md(thread.quote)}” — {said}"


def markdown(notes: Notes) -> str:
    """The notes as Markdown to append to the body ("" without threads)."""
    if not notes:
        return ""
    lines = ["", "", "---", "", "**Comments**", ""]
    for number, thread in notes.numbered:
        lines += [f"[^{number}]: {_md_note(thread)}", ""]
    if notes.detached:
        lines += ["**Detached comments** (their text was deleted)", ""]
        lines += [f"- {_md_note(thread)}" for thread in notes.detached]
        lines.append("")
    return "\n".join(lines)


def _html_note(thread: CommentThread) -> str:
    said = "".join(
        f"<p><strong>{html.escape(_author(c))}</strong>: "
        f"{html.escape(c.body).replace(chr(10), '<br>')}</p>"
        for c in thread.comments.all()
    )
    return f"<blockquote>{html.escape(thread.quote)}</blockquote>{said}"


def html_section(notes: Notes) -> str:
    """The notes as an HTML section to append to the body ("" without threads)."""
    if not notes:
        return ""
    parts = ['\n<section class="comments"><hr><h2>Comments</h2>']
    if notes.numbered:
        items = "".join(
            f'<li id="comment-{number}">{_html_note(thread)}'
            f'<p><a href="#comment-ref-{number}" aria-label="Back to the text">↩</a></p></li>'
            for number, thread in notes.numbered
        )
        parts.append(f"<ol>{items}</ol>")
    if notes.detached:
        items = "".join(f"<li>{_html_note(thread)}</li>" for thread in notes.detached)
        parts.append(
            "<h3>Detached comments</h3><p>Their text was deleted.</p>"
            f'<ul class="detached">{items}</ul>'
        )
    parts.append("</section>\n")
    return "".join(parts)
