"""Who may do what with a document: one rule, used by every path."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import OuterRef, Subquery
from django.http import Http404

from documents.models import Document, Membership, Profile, Role

WRITE_ROLES = frozenset({Role.OWNER, Role.EDITOR})
MANAGE_ROLES = frozenset({Role.OWNER})
COMMENT_ROLES = frozenset({Role.OWNER, Role.EDITOR, Role.COMMENTER})


def role_for(user: Any, document: Document) -> Role | None:
    """The user's role on the document, or None for a stranger."""
    if not user.is_authenticated:
        return None
    if document.owner_id == user.pk:
        return Role.OWNER
    role = (
        Membership.objects.filter(document=document, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    return Role(role) if role else None


def document_role(user: Any, document_id: UUID) -> tuple[Document | None, Role | None]:
    """The document (None if it does not exist or is in the trash) and the user's role on it."""
    document = (
        Document.objects.alive().filter(pk=document_id).only("id", "owner_id", "title").first()
    )
    if document is None:
        return None, None
    return document, role_for(user, document)


def document_role_and_color(
    user: Any, document_id: UUID
) -> tuple[Document | None, Role | None, str]:
    """`document_role`, and the caret colour the user chose ("" for none), in one query.

    A socket needs all three before it is accepted; as three queries (the
    document, the membership, the profile) they were a fifth of the server's
    work when a class opened one document at once.
    """
    if not user.is_authenticated:
        return (*document_role(user, document_id), "")
    document = (
        Document.objects.alive()
        .filter(pk=document_id)
        .annotate(
            member_role=Subquery(
                Membership.objects.filter(document=OuterRef("pk"), user_id=user.pk).values("role")[
                    :1
                ]
            ),
            chosen_color=Subquery(
                Profile.objects.filter(user_id=user.pk).values("caret_color")[:1]
            ),
        )
        .only("id", "owner_id", "title")
        .first()
    )
    if document is None:
        return None, None, ""
    role: Role | None
    if document.owner_id == user.pk:
        role = Role.OWNER
    else:
        member_role = document.member_role  # type: ignore[attr-defined]
        role = Role(member_role) if member_role else None
    return document, role, document.chosen_color or ""  # type: ignore[attr-defined]


def document_or_404(user: Any, document_id: UUID) -> tuple[Document, Role]:
    """The document and the user's role; Http404 for strangers too, so existence does not leak."""
    document, role = document_role(user, document_id)
    if document is None or role is None:
        raise Http404("No such document.")
    return document, role


def can_write(role: Role | None) -> bool:
    """Whether the role may change the document's content and title."""
    return role in WRITE_ROLES


def can_manage(role: Role | None) -> bool:
    """Whether the role may share, unshare and delete the document."""
    return role in MANAGE_ROLES


def can_comment(role: Role | None) -> bool:
    """Whether the role may write comments (a commenter may, without editing the text)."""
    return role in COMMENT_ROLES
