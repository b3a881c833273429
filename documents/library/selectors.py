"""Reads for the home: which documents a view shows, in which order, one page at a time.

Pages are cut with LIMIT/OFFSET and one row more than a page (to know whether
there is a next one), never with a COUNT: bench/home_pages.py measures them
with 10,000 documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower
from django.http import QueryDict

from documents.library import search
from documents.library.models import Folder, Star
from documents.models import Document, DocumentQuerySet, Membership
from documents.web.selectors import with_my_role

PAGE_SIZE = 50
MAX_PAGE = 10_000

VIEWS = {
    "all": "All documents",
    "recent": "Recent",
    "starred": "Starred",
    "shared": "Shared with me",
    "mine": "Owned by me",
}
SORTS: dict[str, tuple[str, tuple[str | Combinable, ...]]] = {
    "edited": ("Last edited", ("-updated_at", "-pk")),
    "title": ("Title", (Lower("title"), "pk")),
    "created": ("Newest", ("-created_at", "-pk")),
}


class BadListing(ValueError):
    """A view, sort, folder or page that does not exist: the page says which (400)."""


@dataclass(frozen=True)
class Listing:
    """What the home shows: a view (or one folder), its order, a page, a search."""

    view: str = "all"
    sort: str = "edited"
    page: int = 1
    query: str = ""
    folder: Folder | None = None

    def params(self, **changes: Any) -> str:
        """This listing's query string, with some parameters changed (for links)."""
        values: dict[str, Any] = {
            "view": self.view,
            "folder": self.folder.pk if self.folder else None,
            "sort": self.sort,
            "q": self.query,
            "page": self.page,
        }
        values.update(changes)
        defaults = {"view": "all", "sort": "edited", "page": 1}
        query = QueryDict(mutable=True)
        for key, value in values.items():
            if value is not None and value != "" and defaults.get(key) != value:
                query[key] = str(value)
        return "?" + query.urlencode() if query else ""


def folder_id(raw: str) -> int | None:
    """A folder id from a form or query string; None for anything a folder id cannot be."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    return int(raw)


def listing_from(params: QueryDict, user: Any) -> Listing:
    """The listing a request asks for; BadListing for values that do not exist."""
    view = params.get("view") or "all"
    if view not in VIEWS:
        raise BadListing(f"There is no view “{view[:40]}”.")
    sort = params.get("sort") or "edited"
    if sort not in SORTS:
        raise BadListing(f"Documents cannot be sorted by “{sort[:40]}”.")
    try:
        page = int(params.get("page") or 1)
    except ValueError:
        raise BadListing("The page must be a number.") from None
    if not 1 <= page <= MAX_PAGE:
        raise BadListing(f"The page must be between 1 and {MAX_PAGE}.")
    query = (params.get("q") or "").strip()[: search.MAX_QUERY_LENGTH]
    folder = None
    folder_param = str(params.get("folder") or "")
    if folder_param:
        wanted = folder_id(folder_param)
        folder = Folder.objects.filter(owner_id=user.pk, pk=wanted).first() if wanted else None
        if folder is None:
            raise BadListing("There is no such folder.")
    return Listing(view=view, sort=sort, page=page, query=query, folder=folder)


@dataclass
class Page:
    documents: list[Document]
    number: int
    has_next: bool
    searching: bool
    hits: list[search.Hit] = field(default_factory=list)


def _view_documents(listing: Listing, user: Any) -> DocumentQuerySet:
    alive = Document.objects.alive()
    if listing.folder is not None:
        return alive.filter(owner_id=user.pk, folder=listing.folder)
    if listing.view == "mine":
        return alive.filter(owner_id=user.pk)
    if listing.view == "shared":
        # The owner is never a member: shared with me is exactly my memberships.
        return alive.filter(pk__in=Membership.objects.filter(user_id=user.pk).values("document_id"))
    visible = Document.objects.visible_to(user)
    if listing.view == "starred":
        return visible.filter(pk__in=Star.objects.filter(user_id=user.pk).values("document_id"))
    if listing.view == "recent":
        return visible.filter(opens__user_id=user.pk)
    return visible


def home_documents(listing: Listing, user: Any) -> QuerySet[Document]:
    """The documents of a listing, in its order (without what a row shows: see home_page)."""
    documents = _view_documents(listing, user)
    if listing.query:
        found = search.search(documents, listing.query)
        if found is not None:
            return found
    if listing.view == "recent" and listing.folder is None:
        return documents.annotate(opened_at=F("opens__opened_at")).order_by("-opened_at", "pk")
    return documents.order_by(*SORTS[listing.sort][1])


def home_page(listing: Listing, user: Any) -> Page:
    """One page of a listing: PAGE_SIZE documents, and whether more follow.

    Two queries: the page's ids in the listing's order (an index-friendly sort
    over bare rows), then those rows with what a row shows (role, star, owner,
    the search passage), so the per-row subqueries never run for the rows an
    OFFSET skips.
    """
    start = (listing.page - 1) * PAGE_SIZE
    ids = list(
        home_documents(listing, user).values_list("pk", flat=True)[start : start + PAGE_SIZE + 1]
    )
    shown = ids[:PAGE_SIZE]
    rows: QuerySet[Document] = with_my_role(Document.objects.filter(pk__in=shown), user).annotate(
        starred=Exists(Star.objects.filter(user_id=user.pk, document_id=OuterRef("pk")))
    )
    searching = bool(search.query_words(listing.query))
    if searching:
        rows = search.with_passages(rows, listing.query)
    by_id = {d.pk: d for d in rows}
    page = Page(
        documents=[by_id[pk] for pk in shown if pk in by_id],
        number=listing.page,
        has_next=len(ids) > PAGE_SIZE,
        searching=searching,
    )
    if searching:
        page.hits = search.hits(page.documents, listing.query)
    return page


def folders_of(user: Any) -> list[Folder]:
    """The user's folders, by name."""
    return list(Folder.objects.filter(owner_id=user.pk).order_by(Lower("name"), "pk"))
