"""Sharing: roles for other users and share links. Only the owner manages access.

Every change is announced to the document's group after commit, so open
connections follow it at once: a user whose role changed is reconnected under
the new role, a user whose access was removed is disconnected.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from documents.identity import display_name, user_color
from documents.models import Document, Membership, Role, ShareLink
from documents.permissions import can_manage, role_for
from documents.realtime import messages

GRANTABLE = (Role.EDITOR, Role.VIEWER)
RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


def _require_owner(document: Document, user: Any) -> None:
    if not can_manage(role_for(user, document)):
        raise PermissionDenied("Only the owner manages who has access.")


def _role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        raise ValidationError(f"Unknown role {value!r}.") from None
    if role not in GRANTABLE:
        raise ValidationError("A document has exactly one owner.")
    return role


def _announce(document: Document, user_id: int, role: Role | None) -> None:
    """Tell open connections of `user_id` on the document about their new role."""
    message = messages.document_access(user_id, role and role.value)
    transaction.on_commit(lambda: messages.announce(document.pk, message))


@transaction.atomic
def access_grant(*, document: Document, by: Any, who: str, role: str) -> Membership:
    """Give the user named by username or e-mail a role, or change the one they have."""
    _require_owner(document, by)
    granted = _role(role)
    users = get_user_model().objects.filter(Q(username__iexact=who) | Q(email__iexact=who))
    target = users.first() if who.strip() else None
    if target is None or users.count() > 1:
        raise ValidationError(f"No single user is called {who!r}.")
    if target.pk == document.owner_id:
        raise ValidationError("The owner already has full access.")
    membership, created = Membership.objects.get_or_create(
        document=document, user=target, defaults={"role": granted}
    )
    if not created and (membership.role != granted or membership.via_link_id):
        membership.role = granted
        membership.via_link = None  # now granted by name: survives the link
        membership.save(update_fields=["role", "via_link"])
    _announce(document, target.pk, granted)
    return membership


@transaction.atomic
def access_revoke(*, document: Document, by: Any, user_id: int) -> None:
    """Take a user's access away; their open editors are disconnected."""
    _require_owner(document, by)
    Membership.objects.filter(document=document, user_id=user_id).delete()
    _announce(document, user_id, None)


@transaction.atomic
def link_create(*, document: Document, by: Any, role: str) -> ShareLink:
    """A new secret link granting `role`."""
    _require_owner(document, by)
    return ShareLink.objects.create(document=document, role=_role(role), created_by=by)


@transaction.atomic
def link_revoke(*, document: Document, by: Any, token: str) -> None:
    """Disable a link and take back the access it alone granted."""
    _require_owner(document, by)
    link = ShareLink.objects.active().filter(document=document, token=token).first()
    if link is None:
        return
    link.revoked_at = timezone.now()
    link.save(update_fields=["revoked_at"])
    for membership in list(Membership.objects.filter(via_link=link)):
        membership.delete()
        _announce(document, membership.user_id, None)


@transaction.atomic
def link_redeem(*, token: str, user: Any) -> Document | None:
    """Grant the link's role to `user` (never lowering one they have); the document."""
    link = ShareLink.objects.active().select_related("document").filter(token=token).first()
    if link is None:
        return None
    document = link.document
    current = role_for(user, document)
    granted = Role(link.role)
    if current is None:
        Membership.objects.create(document=document, user=user, role=granted, via_link=link)
        _announce(document, user.pk, granted)
    elif RANK[granted] > RANK[current]:
        Membership.objects.filter(document=document, user=user).update(role=granted, via_link=link)
        _announce(document, user.pk, granted)
    return document


def access_list(*, document: Document, by: Any) -> dict[str, Any]:
    """Who has which role, and the active links (owner only)."""
    _require_owner(document, by)
    members = [
        {
            "user_id": m.user_id,
            "username": m.user.get_username(),
            "email": m.user.email,
            "name": display_name(m.user),
            "color": user_color(m.user),
            "role": m.role,
            "via_link": bool(m.via_link_id),
        }
        for m in Membership.objects.filter(document=document).select_related("user").order_by("id")
    ]
    links = [
        {"token": link.token, "role": link.role, "created_at": link.created_at.isoformat()}
        for link in ShareLink.objects.active().filter(document=document).order_by("id")
    ]
    return {"members": members, "links": links}
