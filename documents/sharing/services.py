"""Sharing: roles for other users and share links. Only the owner manages access.

Every change is announced to the document's group after commit, so open
connections follow it at once: a user whose role changed is reconnected under
the new role, a user whose access was removed is disconnected.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from documents.comments import events as comment_events
from documents.identity import display_name, user_color
from documents.models import (
    AccessRemoval,
    Document,
    EmailAddress,
    Membership,
    PendingShare,
    Role,
    ShareLink,
)
from documents.permissions import can_manage, role_for
from documents.realtime import messages

GRANTABLE = (Role.EDITOR, Role.COMMENTER, Role.VIEWER)
RANK = {Role.VIEWER: 1, Role.COMMENTER: 2, Role.EDITOR: 3, Role.OWNER: 4}
# Shares waiting for an address to be confirmed, per document: rows that any
# owner of a document can add.
MAX_PENDING_SHARES = 100
EMAIL_MAX_LENGTH = 254  # what an SMTP path holds, and the columns


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
    # The comments' events sockets (documents/comments/) follow the role too.
    transaction.on_commit(
        lambda: comment_events.access_changed(document.pk, user_id, role and role.value)
    )


REMOVED_MESSAGE = "You were removed from this document; ask the owner to share it with you again."
# One message whether nobody or several people match, so a share attempt tells
# nothing about which e-mail addresses are registered.
NO_SINGLE_USER = "No single user matches {who!r}; check the username or e-mail address."


def _higher(*roles: str | None) -> Role | None:
    present = [Role(r) for r in roles if r]
    return max(present, key=RANK.__getitem__) if present else None


def _settle(membership: Membership) -> Role | None:
    """Store the effective role (the higher grant), or delete the row if no grant is left.

    Callers set `name_role` first (from `by_name`, before touching `link_role`).
    """
    role = _higher(membership.name_role, membership.link_role)
    if role is None:
        membership.delete()
        return None
    membership.role = role
    membership.save()
    return role


def _target(who: str) -> tuple[Any, str]:
    """The user named by username, or the one who confirmed the e-mail address, and the
    address used ("" for a username; the user is None when nobody confirmed it).

    Anything with an @ is an e-mail address and only a confirmed address finds
    anyone: an address someone merely typed at sign-up finds nobody, and a
    username (sign-up refuses @ in one) never stands in for an address.
    """
    who = who.strip()
    if "@" in who:
        try:
            if len(who) > EMAIL_MAX_LENGTH:
                raise ValidationError("too long")
            validate_email(who)
        except ValidationError:
            raise ValidationError(f"{who!r} is not an e-mail address.") from None
        email = who.lower()
        confirmed = EmailAddress.objects.verified().matching(email).select_related("user").first()
        return (confirmed.user if confirmed else None), email
    found = list(get_user_model().objects.filter(username__iexact=who)[:2]) if who else []
    if len(found) != 1:
        raise ValidationError(NO_SINGLE_USER.format(who=who))
    return found[0], ""


def _grant_by_name(
    *, document: Document, target: Any, granted: Role, email: str, keep_higher: bool = False
) -> Membership:
    """Give `target` the role `granted` by name, addressed by `email` ("" for a username).

    With `keep_higher`, a higher role they hold by name stays: a share that
    waited for them must not undo a later decision of the owner's.
    """
    membership, _ = Membership.objects.select_for_update().get_or_create(
        document=document,
        user=target,
        defaults={"role": granted, "name_role": granted, "username_known": not email},
    )
    if not email:
        membership.username_known = True
    held = membership.by_name
    if not (keep_higher and held and RANK[Role(held)] > RANK[granted]):
        membership.name_role = granted
    if email:
        membership.shared_email = email
    chosen = Role(membership.name_role)
    if membership.link_role and RANK[Role(membership.link_role)] > RANK[chosen]:
        # The owner chose this role for this person: a higher link grant
        # would silently keep it from taking effect.
        membership.link_role = ""
        membership.via_link = None
    effective = _settle(membership)
    # Granting by name is how the owner lets a removed user back in.
    AccessRemoval.objects.filter(document=document, user=target).delete()
    _announce(document, target.pk, effective)
    return membership


def _share_pending(*, document: Document, by: Any, email: str, role: Role) -> None:
    """Keep a share by e-mail for whoever confirms the address."""
    pending = PendingShare.objects.filter(document=document)
    if not pending.filter(email=email).exists() and pending.count() >= MAX_PENDING_SHARES:
        raise ValidationError(
            f"At most {MAX_PENDING_SHARES} unconfirmed addresses can wait for a document; "
            "cancel some first."
        )
    PendingShare.objects.update_or_create(
        document=document, email=email, defaults={"role": role, "shared_by": by}
    )


@transaction.atomic
def access_grant(
    *, document: Document, by: Any, role: str, who: str = "", user_id: int | None = None
) -> Membership | None:
    """Give the user named by username or e-mail (or an existing member by id) a role by name.

    An address nobody has confirmed gets a pending share instead (and None):
    whoever confirms the address receives it.
    """
    _require_owner(document, by)
    granted = _role(role)
    if user_id is not None:
        membership = Membership.objects.filter(document=document, user_id=user_id).first()
        if membership is None:
            raise ValidationError(NO_SINGLE_USER.format(who=str(user_id)))
        # A role change keeps how the owner addressed the member.
        target, email = membership.user, membership.shared_email
    else:
        target, email = _target(who)
        if target is None:
            _share_pending(document=document, by=by, email=email, role=granted)
            return None
        if target.pk == document.owner_id:
            raise ValidationError("The owner already has full access.")
    return _grant_by_name(document=document, target=target, granted=granted, email=email)


@transaction.atomic
def pending_share_cancel(*, document: Document, by: Any, email: str) -> None:
    """Withdraw a share waiting for an address to be confirmed."""
    _require_owner(document, by)
    PendingShare.objects.filter(document=document, email=email.strip().lower()).delete()


def pending_shares_grant(*, user: Any, email: str) -> list[Document]:
    """Grant `user`, who just confirmed `email`, what was shared with that address; the documents.

    Runs inside the confirmation's transaction. A share the owner made before
    removing this user is dropped: the removal is the newer decision.
    """
    granted: list[Document] = []
    waiting = (
        PendingShare.objects.select_for_update()
        .filter(email=email.lower())
        .select_related("document")
        .order_by("id")
    )
    for pending in waiting:
        document = pending.document
        removed = AccessRemoval.objects.filter(
            document=document, user=user, removed_at__gt=pending.shared_at
        ).exists()
        if document.owner_id != user.pk and not removed:
            _grant_by_name(
                document=document,
                target=user,
                granted=Role(pending.role),
                email=pending.email,
                keep_higher=True,
            )
            granted.append(document)
        pending.delete()
    return granted


@transaction.atomic
def access_revoke(*, document: Document, by: Any, user_id: int) -> None:
    """Take a user's access away, by name and by link; share links will not let them back."""
    _require_owner(document, by)
    if user_id == document.owner_id:
        return
    removed, _ = Membership.objects.filter(document=document, user_id=user_id).delete()
    if removed:
        AccessRemoval.objects.update_or_create(document=document, user_id=user_id)
    _announce(document, user_id, None)


@transaction.atomic
def link_create(*, document: Document, by: Any, role: str) -> ShareLink:
    """A new secret link granting `role`."""
    _require_owner(document, by)
    return ShareLink.objects.create(document=document, role=_role(role), created_by=by)


@transaction.atomic
def link_revoke(*, document: Document, by: Any, token: str) -> None:
    """Disable a link and take back what it granted, leaving roles granted by name."""
    _require_owner(document, by)
    link = ShareLink.objects.active().filter(document=document, token=token).first()
    if link is None:
        return
    link.revoked_at = timezone.now()
    link.save(update_fields=["revoked_at"])
    for membership in list(Membership.objects.select_for_update().filter(via_link=link)):
        before = membership.role
        membership.name_role = membership.by_name
        membership.link_role = ""
        membership.via_link = None
        effective = _settle(membership)
        if effective != before:
            _announce(document, membership.user_id, effective)


def link_for(*, token: str) -> ShareLink | None:
    """The active link with this token, with its document."""
    return ShareLink.objects.active().select_related("document").filter(token=token).first()


def link_refusal(*, link: ShareLink, user: Any) -> str | None:
    """Why `user` may not join through the link, or None."""
    if role_for(user, link.document) is None and (
        AccessRemoval.objects.filter(document=link.document, user_id=user.pk).exists()
    ):
        return REMOVED_MESSAGE
    return None


@transaction.atomic
def link_redeem(*, token: str, user: Any) -> Document | None:
    """Grant the link's role to `user` (never lowering one they have); the document.

    PermissionDenied if the owner removed the user: a removal outlasts the link.
    """
    link = link_for(token=token)
    if link is None:
        return None
    document = link.document
    refusal = link_refusal(link=link, user=user)
    if refusal:
        raise PermissionDenied(refusal)
    current = role_for(user, document)
    granted = Role(link.role)
    if current is None:
        Membership.objects.create(
            document=document, user=user, role=granted, link_role=granted, via_link=link
        )
        _announce(document, user.pk, granted)
    elif current != Role.OWNER and RANK[granted] > RANK[current]:
        membership = Membership.objects.select_for_update().get(document=document, user=user)
        membership.name_role = membership.by_name
        membership.link_role = granted
        membership.via_link = link
        membership.username_known = True  # they chose to join in the owner's sight
        _settle(membership)
        _announce(document, user.pk, granted)
    return document


def _email_shown(membership: Membership) -> str:
    """The member's e-mail, only if the owner shared by that very address."""
    email: str = membership.user.email
    if membership.shared_email and membership.shared_email == email.lower():
        return email
    return ""


def _member(membership: Membership) -> dict[str, Any]:
    """One access-list row, telling the owner only what they already know.

    The owner sees a member's e-mail only if they shared by that very address,
    and a member known only by that address is shown by it alone (no username
    or name): otherwise sharing one's own document with a guessed name or
    address, then reading this list, maps usernames to e-mails and back.
    """
    user = membership.user
    email = _email_shown(membership)
    known = membership.username_known or not membership.shared_email
    return {
        "user_id": membership.user_id,
        "username": user.get_username() if known else "",
        "email": email,
        "name": display_name(user) if known else (email or membership.shared_email),
        "color": user_color(user),
        "role": membership.role,
        "via_link": bool(membership.via_link_id),
    }


def access_list(*, document: Document, by: Any) -> dict[str, Any]:
    """Who has which role, and the active links (owner only)."""
    _require_owner(document, by)
    members = [
        _member(m)
        for m in Membership.objects.filter(document=document)
        .select_related("user", "user__profile")
        .order_by("id")
    ]
    links = [
        {"token": link.token, "role": link.role, "created_at": link.created_at.isoformat()}
        for link in ShareLink.objects.active().filter(document=document).order_by("id")
    ]
    # Addresses the owner typed, waiting for someone to confirm them.
    pending = [
        {"email": p.email, "role": p.role, "shared_at": p.shared_at.isoformat()}
        for p in PendingShare.objects.filter(document=document).order_by("id")
    ]
    return {"members": members, "links": links, "pending": pending}
