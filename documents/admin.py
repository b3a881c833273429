"""The Django admin: where operators look at documents, members, links and history.

A quarantined update is a stored update that could not be applied to the
document's content; loads skip it and it is never deleted (see
documents/storage/store.py). The admin lists them so that someone can look.

Documents' bodies, update and snapshot bytes are never shown: they are the
users' content, and sizes say what an operator needs. Writes go through the
services (deleting a document closes its editors' sockets, revoking a link
takes back what it granted), never by editing rows the app keeps in step.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Length
from django.http import HttpRequest

from documents.models import (
    Document,
    DocumentImage,
    DocumentUpdate,
    EmailAddress,
    Membership,
    ShareLink,
    Snapshot,
)
from documents.services import document_delete
from documents.sharing.services import link_revoke


@admin.register(DocumentUpdate)
class DocumentUpdateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["document_id", "seq", "quarantined", "size", "author", "created_at"]
    list_filter = ["quarantined"]
    search_fields = ["document__id"]
    list_select_related = ["author"]
    ordering = ["-id"]
    # The log is the document's history: read-only here, as the app writes it.
    # Its bytes are the users' content: only their size is shown.
    readonly_fields = ["document", "seq", "size", "author", "created_at", "quarantined"]
    exclude = ["data"]
    show_full_result_count = False  # a count of the whole log would scan it

    def get_queryset(self, request: HttpRequest) -> QuerySet[DocumentUpdate]:
        # The size from the database: the rows' data is never loaded.
        return super().get_queryset(request).defer("data").annotate(data_bytes=Length("data"))

    @admin.display(description="bytes", ordering="data_bytes")
    def size(self, obj: Any) -> int:
        return int(obj.data_bytes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: DocumentUpdate | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: DocumentUpdate | None = None
    ) -> bool:
        return False


@admin.register(EmailAddress)
class EmailAddressAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Who claimed which address, and who confirmed it. Read-only: only the
    link mailed to an address proves it, so the admin cannot confirm one."""

    list_display = ["email", "user", "verified_at", "created_at"]
    list_filter = [("verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "user__username"]
    list_select_related = ["user"]
    ordering = ["-id"]
    readonly_fields = ["user", "email", "verified_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EmailAddress | None = None) -> bool:
        return False


@admin.register(DocumentImage)
class DocumentImageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Uploaded images: which document, who, how big. Read-only: the bytes were sniffed
    on upload, and a replaced file would skip that check."""

    list_display = ["id", "document_id", "content_type", "width", "height", "size", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["document__id", "id"]
    ordering = ["-created_at"]
    readonly_fields = [
        "id",
        "document",
        "file",
        "content_type",
        "width",
        "height",
        "size",
        "uploaded_by",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DocumentImage | None = None) -> bool:
        return False


# -- comments (documents/comments/) ---------------------------------------------------

from documents.comments.models import (  # noqa: E402
    Comment,
    CommentThread,
    Notification,
    NotificationSettings,
)


class CommentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Comment
    extra = 0
    fields = ["author", "body", "created_at", "edited_at"]
    readonly_fields = ["author", "created_at", "edited_at"]


@admin.register(CommentThread)
class CommentThreadAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Threads and their comments, for moderation: text can be edited or deleted, anchors not."""

    list_display = ["id", "document", "created_by", "quote", "resolved_at", "created_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["quote", "document__title", "created_by__username"]
    list_select_related = ["document", "created_by"]
    readonly_fields = ["document", "created_by", "anchor_from", "anchor_to", "created_at"]
    inlines = [CommentInline]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "kind", "actor", "created_at", "read_at", "mailed_at"]
    list_filter = ["kind"]
    list_select_related = ["user", "actor"]
    readonly_fields = ["user", "kind", "comment", "actor", "created_at", "read_at", "mailed_at"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "email_enabled"]
    list_select_related = ["user"]


def _count(rows: QuerySet[Any]) -> Subquery:
    """COUNT(*) of a correlated queryset, as a subquery annotation."""
    return Subquery(rows.values("document").annotate(n=Count("*")).values("n")[:1])


class _ReadOnly:
    """Rows the app keeps consistent through its services: looked at here, not edited."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(_ReadOnly, admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    fields = ["user", "role", "name_role", "link_role", "created_at"]
    readonly_fields = ["user", "role", "name_role", "link_role", "created_at"]
    extra = 0
    can_delete = False


class ShareLinkInline(_ReadOnly, admin.TabularInline):  # type: ignore[type-arg]
    model = ShareLink
    fields = ["role", "created_by", "created_at", "revoked_at"]
    readonly_fields = ["role", "created_by", "created_at", "revoked_at"]
    extra = 0
    can_delete = False


@admin.register(Document)
class DocumentAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Documents with their log's size; deleting one goes through document_delete."""

    list_display = [
        "title",
        "id",
        "owner",
        "members",
        "last_seq",
        "snapshot_seq",
        "log_bytes",
        "quarantined",
        "updated_at",
    ]
    list_filter = ["created_at", "updated_at"]
    search_fields = ["title", "owner__username", "owner__email", "=id"]
    list_select_related = ["owner"]
    ordering = ["-updated_at"]
    date_hierarchy = "updated_at"
    readonly_fields = [
        "id",
        "title",
        "owner",
        "created_at",
        "updated_at",
        "last_seq",
        "snapshot_seq",
        "log_bytes",
    ]
    inlines = [MembershipInline, ShareLinkInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        # Subqueries, not joins: a join with the log would visit every update
        # of every listed document (the partial index serves the quarantined count).
        members = Membership.objects.filter(document=OuterRef("pk")).order_by()
        quarantined = DocumentUpdate.objects.filter(
            document=OuterRef("pk"), quarantined=True
        ).order_by()
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=_count(members),
                quarantined_count=_count(quarantined),
            )
        )

    @admin.display(description="members", ordering="member_count")
    def members(self, obj: Any) -> int:
        return int(obj.member_count or 0)

    @admin.display(description="quarantined", ordering="quarantined_count")
    def quarantined(self, obj: Any) -> int:
        return int(obj.quarantined_count or 0)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Its members, links and versions go with it (document_delete's cascade),
        # although none of them can be deleted on their own pages.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request: HttpRequest, obj: Document) -> None:
        # As its owner: the open editors are told, as when the owner deletes it.
        document_delete(document=obj, user=obj.owner)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        for document in queryset.select_related("owner"):
            document_delete(document=document, user=document.owner)


@admin.register(Membership)
class MembershipAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Who holds which role where, and how (by name, by link)."""

    list_display = ["user", "document", "role", "name_role", "link_role", "created_at"]
    list_filter = ["role", "name_role", "link_role"]
    search_fields = ["user__username", "user__email", "document__title", "=document__id"]
    list_select_related = ["user", "document"]
    ordering = ["-id"]
    readonly_fields = [
        "document",
        "user",
        "role",
        "name_role",
        "link_role",
        "via_link",
        "shared_email",
        "username_known",
        "created_at",
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removing a member is the owner's access_revoke, with its notices


@admin.register(ShareLink)
class ShareLinkAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Share links, without their secret; revoking takes back what each granted."""

    list_display = ["__str__", "document", "role", "created_by", "created_at", "revoked_at"]
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["document__title", "=document__id", "created_by__username"]
    list_select_related = ["document", "created_by"]
    ordering = ["-id"]
    # The token is the link: whoever reads it here could join the document.
    exclude = ["token"]
    readonly_fields = ["document", "role", "created_by", "created_at", "revoked_at"]
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a deleted link would leave its grants behind: revoke instead

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ShareLink]) -> None:
        links = list(queryset.filter(revoked_at__isnull=True).select_related("document__owner"))
        for link in links:
            link_revoke(document=link.document, by=link.document.owner, token=link.token)
        self.message_user(request, f"Revoked {len(links)} link(s).", messages.SUCCESS)


@admin.register(Snapshot)
class SnapshotAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Versions: which, how big, who saved them. Their content stays in the app's history."""

    list_display = ["document", "seq", "label", "size", "created_by", "created_at"]
    list_filter = [("label", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["label", "document__title", "=document__id"]
    list_select_related = ["document", "created_by"]
    ordering = ["-id"]
    exclude = ["data"]
    readonly_fields = ["document", "seq", "label", "size", "created_by", "created_at"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        return super().get_queryset(request).defer("data").annotate(data_bytes=Length("data"))

    @admin.display(description="bytes", ordering="data_bytes")
    def size(self, obj: Any) -> int:
        return int(obj.data_bytes)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The newest snapshot is where loads start; prune_history applies the policy.
        return False
