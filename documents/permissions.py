"""Who may do what with a document: one rule, used by every path."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import connection
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

    A socket needs all three before it is accepted. As three ORM queries (the
    document, the membership, the profile) they were a fifth of the server's
    work when a class opened one document at once, and as one ORM query with
    two subqueries still as much, most of it building the SQL: so it is
    written out. A member has one membership row and a user one profile row
    (both unique), so the joins find one row at most.
    """
    if not user.is_authenticated:
        return (*document_role(user, document_id), "")
    sql = (
        f"SELECT {ROLE_COLUMNS} FROM {connection.ops.quote_name(Document._meta.db_table)} d "
        f"{role_joins('%s')} WHERE d.id = %s AND d.trashed_at IS NULL"
    )
    key = Document._meta.pk.get_db_prep_value(document_id, connection)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, user.pk, key])
        row = cursor.fetchone()
    return role_from_row(user.pk, document_id, row)


# What `role_from_row` reads, beside a document d and `role_joins`.
ROLE_COLUMNS = "d.owner_id, d.title, m.role, p.caret_color"


def role_joins(user: str) -> str:
    """The joins beside a document d that find the membership (m) and the profile (p) of the
    user `user` (an SQL expression): one row at most each, both being unique per user."""
    quote = connection.ops.quote_name
    return (
        f"LEFT JOIN {quote(Membership._meta.db_table)} m "
        f"ON m.document_id = d.id AND m.user_id = {user} "
        f"LEFT JOIN {quote(Profile._meta.db_table)} p ON p.user_id = {user}"
    )


def role_from_row(
    user_id: Any, document_id: UUID, row: tuple[Any, Any, Any, Any] | None
) -> tuple[Document | None, Role | None, str]:
    """The document, the role and the chosen colour from a row of the document's owner and
    title (None: no such document, or in the trash), the membership's role and the profile's
    colour, as the socket's way in reads them (here and in realtime/access.py)."""
    if row is None or row[0] is None:
        return None, None, ""
    owner_id, title, member_role, chosen_color = row
    document = Document(id=document_id, owner_id=owner_id, title=title)
    role = Role.OWNER if owner_id == user_id else Role(member_role) if member_role else None
    return document, role, chosen_color or ""


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
