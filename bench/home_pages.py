"""How fast the documents home answers with 10,000 documents, on PostgreSQL.

    .venv/bin/python bench/home_pages.py [--documents 10000] [--runs 15]

Builds a throwaway database (BENCH_PG_HOST/PORT/USER, default the machine's
PostgreSQL), gives one user N documents (most their own, a fifth shared with
them, stars and recent opens on some, a body of text on each) beside as many
documents of strangers, then times every view, sort, a first, middle and last
page, and a few searches: the query alone (the selector) and the whole page
(the view with its template) as a browser gets it. Prints the median and the
slowest run in milliseconds; the database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import log
from bench.services import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_database,
    drop_database,
    setup_django,
)

WORDS = [
    "budget",
    "roadmap",
    "launch",
    "meeting",
    "notes",
    "design",
    "review",
    "customer",
    "research",
    "sprint",
    "hiring",
    "policy",
    "travel",
    "report",
    "quarterly",
    "draft",
    "summary",
    "planning",
    "release",
    "metrics",
    "security",
    "incident",
    "retrospective",
    "onboarding",
    "pricing",
    "contract",
    "partner",
    "market",
]


def vocabulary(rng: random.Random) -> list[str]:
    """Common words, and a long tail of rarer ones (made up), as real text has."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    rare = ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(5000)]
    return WORDS * 20 + rare


def populate(total: int) -> Any:
    """The user whose home is measured; `total` documents visible to them."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from documents.models import Document, DocumentText, Membership, RecentOpen, Role, Star

    rng = random.Random(7)
    words = vocabulary(rng)
    users = get_user_model().objects
    me = users.create(username="me")
    colleague = users.create(username="colleague")
    stranger = users.create(username="stranger")
    now = timezone.now()
    shared_count = total // 5

    def documents(owner: Any, count: int, prefix: str) -> list[Document]:
        rows = []
        for i in range(count):
            title = f"{prefix} {rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
            rows.append(Document(owner=owner, title=title))
        created = Document.objects.bulk_create(rows, batch_size=2000)
        return created

    mine = documents(me, total - shared_count, "Mine")
    shared = documents(colleague, shared_count, "Shared")
    strangers = documents(stranger, total, "Theirs")
    Membership.objects.bulk_create(
        [Membership(document=d, user=me, role=Role.EDITOR, name_role=Role.EDITOR) for d in shared],
        batch_size=2000,
    )
    visible = mine + shared
    Star.objects.bulk_create([Star(user=me, document=d) for d in rng.sample(visible, 300)])
    RecentOpen.objects.bulk_create(
        [
            RecentOpen(user=me, document=d, opened_at=now - timedelta(minutes=i))
            for i, d in enumerate(rng.sample(visible, 1000))
        ]
    )
    DocumentText.objects.bulk_create(
        [
            DocumentText(document=d, body=" ".join(rng.choice(words) for _ in range(120)))
            for d in visible + strangers
        ],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        # Spread the edit and creation times over a year, as a real home has them.
        cursor.execute(
            "UPDATE documents_document SET updated_at = now() - random() * interval '365 days',"
            " created_at = now() - random() * interval '730 days'"
        )
        cursor.execute(
            "UPDATE documents_documenttext t SET vector ="
            " setweight(to_tsvector('simple', d.title), 'A')"
            " || setweight(to_tsvector('simple', t.body), 'B')"
            " FROM documents_document d WHERE d.id = t.document_id"
        )
        cursor.execute("ANALYZE")
    return me


def timed(action: Callable[[], Any], runs: int) -> tuple[float, float]:
    action()  # warm: plans cached, pages in memory
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def cases(total: int) -> list[tuple[str, dict[str, str]]]:
    from documents.library.selectors import PAGE_SIZE

    last = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    found: list[tuple[str, dict[str, str]]] = []
    for sort in ("edited", "title", "created"):
        for page in (1, last // 2, last):
            found.append((f"all, by {sort}, page {page}", {"sort": sort, "page": str(page)}))
    for view in ("mine", "shared", "starred", "recent"):
        found.append((f"{view}, page 1", {"view": view}))
    found.append(("shared, last page", {"view": "shared", "page": str(max(1, last // 5))}))
    for query in ("budget", "road", "launch meeting", "nomatchword"):
        found.append((f"search “{query}”", {"q": query}))
    found.append(("search “notes”, page 5", {"q": "notes", "page": "5"}))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--explain", action="store_true", help="print PostgreSQL's plan of each query too"
    )
    args = parser.parse_args()
    name = f"bench_home_{os.getpid()}"
    create_database(name)
    try:
        setup_django(
            f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}", f"bench-home-{os.getpid()}"
        )
        from django.http import QueryDict
        from django.test import Client

        from documents.library import selectors

        log(f"populating {args.documents} documents (and as many of strangers)")
        me = populate(args.documents)
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(me)
        print(f"documents home, {args.documents} documents visible, PostgreSQL, {args.runs} runs")
        print(f"{'case':34} {'rows':>5} {'query p50':>10} {'max':>7} {'page p50':>9} {'max':>7}")
        for label, params in cases(args.documents):
            query = QueryDict(mutable=True)
            query.update(params)
            listing = selectors.listing_from(query, me)
            rows = len(selectors.home_page(listing, me).documents)
            q50, qmax = timed(partial(selectors.home_page, listing, me), args.runs)

            def page(params: dict[str, str] = params) -> None:
                response = client.get("/", params)
                assert response.status_code == 200, response.status_code

            p50, pmax = timed(page, args.runs)
            print(f"{label:34} {rows:>5} {q50:>9.1f}  {qmax:>6.1f} {p50:>9.1f} {pmax:>7.1f}")
            if args.explain:
                start = (listing.page - 1) * selectors.PAGE_SIZE
                sliced = selectors.home_documents(listing, me)[start : start + selectors.PAGE_SIZE]
                print(sliced.explain(analyze=True))
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
