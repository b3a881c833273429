"""Documents, their append-only update log, and snapshots."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

TITLE_MAX_LENGTH = 200


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    COMMENTER = "commenter", "Commenter"
    VIEWER = "viewer", "Viewer"


# The roles an owner can give by name, by e-mail or with a share link.
GRANTABLE_CHOICES = [
    (Role.EDITOR, "Editor"),
    (Role.COMMENTER, "Commenter"),
    (Role.VIEWER, "Viewer"),
]


class DocumentQuerySet(models.QuerySet["Document"]):
    def visible_to(self, user: Any) -> DocumentQuerySet:
        """Documents the user owns or has been given a role on."""
        if not user.is_authenticated:
            return self.none()
        # A subquery rather than a join: no DISTINCT, so the pages that sort and
        # slice this stay cheap with thousands of documents.
        shared = Membership.objects.filter(user_id=user.pk).values("document_id")
        return self.alive().filter(Q(owner=user) | Q(pk__in=shared))

    def alive(self) -> DocumentQuerySet:
        """Documents not in the trash: the only ones any path but the trash shows."""
        return self.filter(trashed_at__isnull=True)

    def trashed(self) -> DocumentQuerySet:
        """Documents in the trash, restorable by their owner until purged."""
        return self.filter(trashed_at__isnull=False)


class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=TITLE_MAX_LENGTH, default="Untitled document")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_documents"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bookkeeping of the log, only ever changed with this row locked: the
    # sequence of the newest update, the sequence the newest snapshot covers,
    # and the bytes of log written since that snapshot.
    last_seq = models.BigIntegerField(default=0)
    snapshot_seq = models.BigIntegerField(default=0)
    log_bytes = models.BigIntegerField(default=0)
    # Set when the owner moves the document to the trash (documents/library/trash.py):
    # every path but the owner's trash then answers 404, until restored or purged.
    trashed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The owner's folder for it (documents/library/folders.py); None is the top level.
    folder = models.ForeignKey(
        "Folder", null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title


class DocumentUpdate(models.Model):
    """One accepted Yjs update; `seq` orders a document's log without gaps."""

    # No index of its own: the unique (document, seq) index serves every
    # lookup by document, and one index fewer is less work per appended row.
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="updates", db_index=False
    )
    seq = models.BigIntegerField()
    data = models.BinaryField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the update turned out not to apply to the content before it:
    # kept for inspection, skipped by loads and never folded into a snapshot.
    # The database default lets processes that predate the column keep
    # appending during a rolling deploy.
    quarantined = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document", "seq"], name="update_seq_unique_per_document"
            )
        ]
        # Quarantined rows are rare: a partial index keeps counting and listing
        # them cheap without growing with the log.
        indexes = [
            models.Index(
                fields=["document", "seq"],
                name="update_quarantined",
                condition=Q(quarantined=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.seq}"


class Snapshot(models.Model):
    """The whole document encoded as one Yjs update, covering the log up to `seq`."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="snapshots")
    seq = models.BigIntegerField()
    data = models.BinaryField()
    label = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seq", "-id"]
        indexes = [models.Index(fields=["document", "-seq"], name="snapshot_latest")]

    def __str__(self) -> str:
        return f"{self.document_id}@{self.seq}"


class Membership(models.Model):
    """A role on a document granted to a user other than its owner.

    A user may hold a role granted by name (`name_role`, set by the owner) and
    one granted by opening a share link (`link_role`, from `via_link`); `role`
    is the higher of the two, kept in step by documents.sharing.services so
    every reader (permissions.role_for, the list pages) reads one column.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    # "" when there is no such grant.
    name_role = models.CharField(max_length=10, choices=Role.choices, blank=True, default="")
    link_role = models.CharField(max_length=10, choices=Role.choices, blank=True, default="")
    # The link that granted `link_role`: revoking it takes that grant away
    # again, and only that grant.
    via_link = models.ForeignKey(
        "ShareLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    # The e-mail address the owner typed when granting by name, if they used
    # one: the access list shows a member's e-mail only to an owner who
    # already knew it.
    shared_email = models.CharField(max_length=254, blank=True, default="")
    # False while the owner knows this member only by the e-mail they typed:
    # the access list then shows neither username nor name, so sharing by
    # e-mail does not tell whose address it is. Granting by username or the
    # member opening a share link (they confirm joining) sets it.
    username_known = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "user"], name="one_role_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} on {self.document_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Rows created directly (fixtures, scripts) name only `role`: that is a
        # grant by name.
        if not self.name_role and not self.link_role:
            self.name_role = self.role
        super().save(*args, **kwargs)

    @property
    def by_name(self) -> str:
        """The role granted by name, "" for none; a row naming only `role` counts as by name."""
        if self.name_role or self.link_role:
            return self.name_role
        return self.role


class AccessRemoval(models.Model):
    """The owner removed this user: share links no longer let them back in."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="removals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    removed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "user"], name="one_removal_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} removed from {self.document_id}"


def _link_token() -> str:
    return secrets.token_urlsafe(24)


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def active(self) -> ShareLinkQuerySet:
        # A link to a document in the trash lets nobody in until it is restored.
        return self.filter(revoked_at__isnull=True, document__trashed_at__isnull=True)


class ShareLink(models.Model):
    """A secret link that grants a role to whoever logs in and opens it."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=_link_token, editable=False)
    role = models.CharField(max_length=10, choices=GRANTABLE_CHOICES)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.role} link to {self.document_id}"


class EmailAddressQuerySet(models.QuerySet["EmailAddress"]):
    def verified(self) -> EmailAddressQuerySet:
        return self.filter(verified_at__isnull=False)

    def matching(self, email: str) -> EmailAddressQuerySet:
        return self.filter(email__iexact=email.strip())


class EmailAddress(models.Model):
    """An address a user gave, and whether (and when) they proved it is theirs.

    Several accounts may claim one address; only a confirmed address is looked
    up when sharing by e-mail, and at most one account can confirm it: the
    first to follow the link sent to it. The others' claims stay, unconfirmed
    and inert, so an account never learns that someone else holds the address.
    A user has at most one confirmed address (mirrored in User.email, for the
    admin and password resets) and at most one claim waiting for confirmation.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_addresses"
    )
    email = models.EmailField(max_length=254)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EmailAddressQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "e-mail addresses"
        constraints = [
            models.UniqueConstraint(Lower("email"), "user", name="one_claim_per_user_and_address"),
            # The database, not a check before the write, decides who confirmed first.
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(verified_at__isnull=False),
                name="one_verified_owner_per_address",
            ),
        ]

    def __str__(self) -> str:
        state = "verified" if self.verified_at else "unverified"
        return f"{self.email} ({state}) of {self.user_id}"


class PendingShare(models.Model):
    """A role shared by e-mail with an address nobody has confirmed yet.

    Granted by name to whoever confirms the address, as if the owner had shared
    with them then; until then it grants nothing.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pending_shares")
    # Lower-cased: compared with confirmed addresses, case-insensitively.
    email = models.CharField(max_length=254)
    role = models.CharField(max_length=10, choices=GRANTABLE_CHOICES)
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Moved on when the owner shares again: a removal after it wins, one before it does not.
    shared_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document", "email"], name="one_pending_share_per_address"
            )
        ]
        indexes = [models.Index(fields=["email"], name="pending_share_email")]

    def __str__(self) -> str:
        return f"{self.role} for {self.email} on {self.document_id}"


class Profile(models.Model):
    """How a user chose to look to others; display_name lives in User.first_name.

    `caret_color` is one of documents.identity.PALETTE, or "" for the colour
    derived from the user's id. A row exists only for users who chose.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    caret_color = models.CharField(max_length=7, blank=True, default="")

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


# Models of the app's packages, imported here so Django registers them with the app.
from documents.comments.models import (  # noqa: E402, F401
    Comment,
    CommentThread,
    Notification,
    NotificationSettings,
)
from documents.images.models import DocumentImage as DocumentImage  # noqa: E402

# The home page's models (folders, stars, recent opens, the text mirror for search).
from documents.library.models import DocumentText, Folder, RecentOpen, Star  # noqa: E402, F401
