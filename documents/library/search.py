"""Search over the documents a user can open: titles and bodies, ranked, with the passage
that matched.

On PostgreSQL this is full-text search: the tsvector of title and body is kept
in DocumentText.vector (GIN-indexed by migration 0006) by the text mirror
(documents/realtime/text_mirror.py), by document_create and document_rename,
and every word of the query matches as a prefix, so results follow as one types.
On SQLite (the embedded default) it falls back to a case-insensitive substring
match of every word, newest first, with the passage cut out in Python.

The passage is returned as segments, (text, matched) pairs, never as HTML: the
body is hostile input, and the template escapes every segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet, Subquery
from django.db.models.expressions import CombinedExpression
from django.utils import timezone

from documents.library.models import DocumentText
from documents.models import Document

CONFIG = "simple"  # no stemming: documents are in any language, and prefixes must match
MAX_QUERY_WORDS = 8
MAX_WORD_LENGTH = 64
MAX_QUERY_LENGTH = 200
# Bodies past this are mirrored cut short: PostgreSQL refuses a tsvector over 1 MiB,
# and a search index entry does not need a whole book.
MAX_BODY_CHARS = 200_000
SNIPPET_CHARS = 180
# The headline's markers: control characters the mirror strips from every body,
# so a document cannot fake a highlight.
_START, _STOP = "\x02", "\x03"
_UNSTORABLE = re.compile("[\x00\x02\x03]")
_WORD = re.compile(r"\w+")

Segments = list[tuple[str, bool]]


def query_words(query: str) -> list[str]:
    """The words searched for: letters and digits only, so nothing reaches tsquery's syntax."""
    words = _WORD.findall(query[:MAX_QUERY_LENGTH].lower())
    unique = list(dict.fromkeys(w[:MAX_WORD_LENGTH] for w in words))
    return unique[:MAX_QUERY_WORDS]


def is_full_text() -> bool:
    """Whether the database does full-text search (PostgreSQL) or the plain fallback."""
    return connection.vendor == "postgresql"


def storable_body(text: str) -> str:
    """The body as the mirror stores it: bounded, and without NUL or the headline markers."""
    return _UNSTORABLE.sub(" ", text[:MAX_BODY_CHARS])


def _vector(title: Any, body: Any) -> CombinedExpression:
    """Title (weight A) and body (weight B) as one tsvector, so a query's words may be in either."""
    return CombinedExpression(
        SearchVector(title, config=CONFIG, weight="A"),
        "||",
        SearchVector(body, config=CONFIG, weight="B"),
        output_field=SearchVectorField(),
    )


def _stored_title(document_id: UUID) -> Subquery:
    return Subquery(Document.objects.filter(pk=document_id).values("title")[:1])


# One statement, not the ORM's update-then-insert: every open document that
# is typed in is saved every few seconds, and with 100 of them building the
# ORM's queries was 6% of the server's time. The join on the document makes a
# save for a document deleted meanwhile insert nothing; the weights are those of
# `_vector`.
_SAVE_SQL = f"""
INSERT INTO {DocumentText._meta.db_table} (document_id, body, vector, updated_at)
SELECT d.id, %(body)s,
       setweight(to_tsvector(%(config)s::regconfig, COALESCE(%(title)s, d.title, '')), 'A')
       || setweight(to_tsvector(%(config)s::regconfig, %(body)s), 'B'),
       %(now)s
FROM {Document._meta.db_table} d
WHERE d.id = %(document_id)s
ON CONFLICT (document_id) DO UPDATE
SET body = EXCLUDED.body, vector = EXCLUDED.vector, updated_at = EXCLUDED.updated_at
"""


def text_save(*, document_id: UUID, body: str, title: str | None = None) -> None:
    """Store the body's text (and, on PostgreSQL, the tsvector of title and body) for search.

    `title` is the one editors see in the shared document; None reads Document.title.
    """
    body = storable_body(body)
    if is_full_text():
        with connection.cursor() as cursor:
            cursor.execute(
                _SAVE_SQL,
                {
                    "document_id": document_id,
                    "body": body,
                    "title": title,
                    "config": CONFIG,
                    "now": timezone.now(),
                },
            )
        return
    values = {"body": body, "vector": None, "updated_at": timezone.now()}
    if DocumentText.objects.filter(pk=document_id).update(**values):
        return
    try:
        with transaction.atomic():
            DocumentText.objects.create(document_id=document_id, **values)
    except IntegrityError:
        # Another process created the row first (then update it), or the
        # document is gone (then this updates nothing).
        DocumentText.objects.filter(pk=document_id).update(**values)


def title_saved(*, document_id: UUID) -> None:
    """Document.title changed outside an open room (a rename from the list): re-index it."""
    if not is_full_text():
        return
    vector = _vector(_stored_title(document_id), F("body"))
    if not DocumentText.objects.filter(pk=document_id).update(vector=vector):
        text_save(document_id=document_id, body="")


@dataclass(frozen=True)
class Hit:
    """One result: the document and the passages to show, as segments."""

    document: Document
    title: Segments
    snippet: Segments


def _tsquery(words: list[str]) -> SearchQuery:
    return SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config=CONFIG)


def search(documents: QuerySet[Document], query: str) -> QuerySet[Document] | None:
    """`documents` matching every word of the query, best first; None for an empty query."""
    words = query_words(query)
    if not words:
        return None
    if is_full_text():
        tsquery = _tsquery(words)
        # The stored vector holds the title too: the GIN index answers which
        # documents match, and only those are ranked.
        return (
            documents.filter(text__vector=tsquery)
            .annotate(rank=SearchRank(F("text__vector"), tsquery))
            .order_by("-rank", "-updated_at", "pk")
        )
    matches = Q()
    for word in words:
        matches &= Q(title__icontains=word) | Q(text__body__icontains=word)
    return documents.filter(matches).order_by("-updated_at", "pk")


def with_passages(documents: QuerySet[Document], query: str) -> QuerySet[Document]:
    """`documents` (one page of results) with the text `hits` cuts the passage from.

    A separate step so that ts_headline, the costly part, runs for the page's
    rows only.
    """
    words = query_words(query)
    if not words:
        return documents
    if is_full_text():
        return documents.annotate(
            headline=SearchHeadline(
                "text__body",
                _tsquery(words),
                config=CONFIG,
                start_sel=_START,
                stop_sel=_STOP,
                max_words=24,
                min_words=10,
                max_fragments=2,
                fragment_delimiter=" … ",
            )
        )
    return documents.annotate(body=F("text__body"))


def hits(page: list[Document], query: str) -> list[Hit]:
    """The page's results with the title and the passage highlighted."""
    words = query_words(query)
    return [Hit(d, highlight(d.title, words), _snippet(d, words)) for d in page]


def _snippet(document: Document, words: list[str]) -> Segments:
    headline = getattr(document, "headline", None)
    if headline is not None:
        return _from_headline(headline) if _START in headline else []
    body = getattr(document, "body", None) or ""
    return _cut_passage(body, words)


def _from_headline(headline: str) -> Segments:
    """ts_headline's text, split at its markers."""
    segments: Segments = []
    for i, part in enumerate(re.split(f"[{_START}{_STOP}]", headline)):
        if part:
            segments.append((part, i % 2 == 1))
    return segments


def _cut_passage(body: str, words: list[str]) -> Segments:
    """Around the first word found, SNIPPET_CHARS of the body, highlighted (the fallback)."""
    lower = body.lower()
    found = [i for i in (lower.find(w) for w in words) if i >= 0]
    if not found:
        return []
    start = max(0, min(found) - SNIPPET_CHARS // 3)
    passage = " ".join(body[start : start + SNIPPET_CHARS].split())
    segments = highlight(passage, words)
    if start > 0:
        segments.insert(0, ("… ", False))
    if start + SNIPPET_CHARS < len(body):
        segments.append((" …", False))
    return segments


def highlight(text: str, words: list[str]) -> Segments:
    """`text` split into segments, the words of the query (as prefixes) marked."""
    if not words:
        return [(text, False)] if text else []
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\w*", re.I)
    segments: Segments = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() > at:
            segments.append((text[at : match.start()], False))
        segments.append((match.group(), True))
        at = match.end()
    if at < len(text):
        segments.append((text[at:], False))
    return segments
