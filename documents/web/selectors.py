"""Reads for the pages and the API: documents a user can see, with their role."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.db.models import Case, CharField, OuterRef, Subquery, Value, When

from documents.models import Document, DocumentQuerySet, Membership, Role

logger = logging.getLogger(__name__)


def documents_for(user: Any) -> DocumentQuerySet:
    """Visible documents, newest first, each annotated with `my_role`."""
    return with_my_role(Document.objects.visible_to(user), user).order_by("-updated_at")


def with_my_role(documents: DocumentQuerySet, user: Any) -> DocumentQuerySet:
    """`documents` annotated with the user's role as `my_role`, owners fetched along."""
    member_role = Membership.objects.filter(document=OuterRef("pk"), user_id=user.pk).values(
        "role"
    )[:1]
    return documents.annotate(
        my_role=Case(
            When(owner_id=user.pk, then=Value(Role.OWNER.value)),
            default=Subquery(member_role),
            output_field=CharField(),
        )
    ).select_related("owner", "owner__profile")


def role_of(document: Document) -> Role:
    """The user's role on a document fetched through `documents_for`."""
    role: str = document.my_role  # type: ignore[attr-defined]
    return Role(role)


def online_users_for(document_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """Who is in each document right now; empty if presence is unavailable."""
    if not document_ids:
        return {}
    try:
        from documents.presence.online import online_users

        return online_users(document_ids)
    except Exception:
        # Presence is a nicety on these pages; the list must render without it.
        logger.exception("presence lookup failed")
        return {}
